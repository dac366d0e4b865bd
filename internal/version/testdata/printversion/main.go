// Command printversion prints version.Get() as JSON and as String, one
// line each: the version tests build it in the ways ferry is built.
package main

import (
	"fmt"
	"os"

	"github.com/ferryhq/ferry/internal/version"
)

func main() {
	v := version.Get()
	os.Stdout.Write(append(v.JSON(), '\n'))
	fmt.Println(v.String())
}
