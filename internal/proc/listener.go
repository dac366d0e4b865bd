package proc

// Listener names the process that listens on TCP port on this machine,
// so that "port in use" can say by whom. ok is false when the platform
// cannot tell (no such socket, or not allowed to look).
func Listener(port int) (pid int, program string, ok bool) { return listener(port) }
