// Command procdriver drives package proc from the command line so that tests
// on Linux can exercise the Windows implementation under Wine: each
// subcommand calls the proc API once and prints one JSON object on stdout.
//
//	procdriver start -pidfile F -log L -dir D [-env K=V]... -- PROGRAM ARGS...
//	procdriver start-leaky -log L -dir D [-env K=V]... -- PROGRAM ARGS...
//	procdriver alive (-pidfile F | -pid N -start-time T)
//	procdriver stop -pidfile F -grace 5s
//	procdriver listener -port N
//	procdriver contain -log L -dir D -child-env K=V -app-env K=V -- PROGRAM ARGS...
//
// contain runs PROGRAM twice: once as an ordinary child through
// proc.Prepare (it must die when the driver exits) and once as the app
// through proc.Start (it must live on), then exits at once.
//
// start-leaky is the negative control: it starts the program the naive way,
// inheriting the driver's stdout and stderr, so a test can show that its
// end-of-file check does catch an inherited handle.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
)

type envFlag []string

func (e *envFlag) String() string     { return strings.Join(*e, ",") }
func (e *envFlag) Set(v string) error { *e = append(*e, v); return nil }

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: procdriver start|start-leaky|alive|stop ..."))
	}
	switch os.Args[1] {
	case "start":
		cmdStart(os.Args[2:], false)
	case "start-leaky":
		cmdStart(os.Args[2:], true)
	case "alive":
		cmdAlive(os.Args[2:])
	case "stop":
		cmdStop(os.Args[2:])
	case "contain":
		cmdContain(os.Args[2:])
	case "listener":
		fs := flag.NewFlagSet("listener", flag.ExitOnError)
		port := fs.Int("port", 0, "TCP port")
		fs.Parse(os.Args[2:]) //nolint:errcheck
		pid, program, ok := proc.Listener(*port)
		emit(map[string]any{"pid": pid, "program": program, "found": ok})
	default:
		fail(fmt.Errorf("unknown subcommand %q", os.Args[1]))
	}
}

func cmdStart(args []string, leaky bool) {
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	pidfile := fs.String("pidfile", "", "write the handle here")
	logPath := fs.String("log", "", "app log file")
	dir := fs.String("dir", "", "working directory")
	var env envFlag
	fs.Var(&env, "env", "KEY=VALUE added to the driver's environment (repeatable)")
	fs.Parse(args) //nolint:errcheck
	argv := fs.Args()
	if len(argv) == 0 {
		fail(fmt.Errorf("start: no program"))
	}
	fullEnv := append(os.Environ(), env...)
	if leaky {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = *dir
		cmd.Env = fullEnv
		cmd.Stdout = os.Stdout
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = naiveDetach()
		if err := cmd.Start(); err != nil {
			fail(err)
		}
		emit(map[string]any{"pid": cmd.Process.Pid})
		return
	}
	h, err := proc.Start(proc.Spec{Argv: argv, Dir: *dir, Env: fullEnv, LogPath: *logPath})
	if err != nil {
		fail(err)
	}
	if *pidfile != "" {
		if err := proc.WritePIDFile(*pidfile, h); err != nil {
			fail(err)
		}
	}
	emit(h)
}

func handleFrom(fs *flag.FlagSet, args []string) proc.Handle {
	pidfile := fs.String("pidfile", "", "handle written by start")
	pid := fs.Int("pid", 0, "process id")
	st := fs.Uint64("start-time", 0, "creation time (0: any)")
	fs.Parse(args) //nolint:errcheck
	if *pidfile != "" {
		h, err := proc.ReadPIDFile(*pidfile)
		if err != nil {
			fail(err)
		}
		return h
	}
	return proc.Handle{PID: *pid, StartTime: *st}
}

func cmdAlive(args []string) {
	fs := flag.NewFlagSet("alive", flag.ExitOnError)
	h := handleFrom(fs, args)
	emit(map[string]any{"alive": proc.Alive(h), "pid": h.PID})
}

func cmdStop(args []string) {
	fs := flag.NewFlagSet("stop", flag.ExitOnError)
	grace := fs.Duration("grace", 5*time.Second, "time allowed for a graceful stop")
	h := handleFrom(fs, args)
	t0 := time.Now()
	if err := proc.Stop(context.Background(), h, *grace); err != nil {
		fail(err)
	}
	emit(map[string]any{"stopped": true, "elapsed_ms": time.Since(t0).Milliseconds(), "alive": proc.Alive(h)})
}

func cmdContain(args []string) {
	fs := flag.NewFlagSet("contain", flag.ExitOnError)
	logPath := fs.String("log", "", "app log file")
	dir := fs.String("dir", "", "working directory")
	childEnv := fs.String("child-env", "", "KEY=VALUE for the child")
	appEnv := fs.String("app-env", "", "KEY=VALUE for the app")
	fs.Parse(args) //nolint:errcheck
	argv := fs.Args()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = *dir
	cmd.Env = append(os.Environ(), *childEnv)
	proc.Prepare(cmd)
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	h, err := proc.Start(proc.Spec{Argv: argv, Dir: *dir, Env: append(os.Environ(), *appEnv), LogPath: *logPath})
	if err != nil {
		fail(err)
	}
	emit(map[string]any{"contained": proc.Contained(), "child": cmd.Process.Pid, "app": h})
	// Exit without waiting: the child must not outlive this process.
	os.Exit(0)
}

func emit(v any) {
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		os.Exit(1)
	}
}

func fail(err error) {
	json.NewEncoder(os.Stdout).Encode(map[string]string{"error": err.Error()}) //nolint:errcheck
	os.Exit(1)
}
