// Command hello is the smallest Windows program the winetest tests run: it
// reports its arguments, one environment variable and its working
// directory, optionally writes a file, and exits with the code it is given.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

func main() {
	exit := flag.Int("exit", 0, "exit code")
	write := flag.String("write", "", "file to create (Windows path)")
	flag.Parse()
	cwd, _ := os.Getwd()
	if *write != "" {
		if err := os.WriteFile(*write, []byte("written by hello\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(9)
		}
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{ //nolint:errcheck
		"args": flag.Args(),
		"env":  os.Getenv("HELLO_VALUE"),
		"cwd":  cwd,
	})
	fmt.Fprintln(os.Stderr, "to stderr")
	os.Exit(*exit)
}
