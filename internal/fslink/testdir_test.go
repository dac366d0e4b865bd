package fslink

// testDirEnv names the directory the Windows unit tests work in when they
// run under Wine.
const testDirEnv = "FERRY_FSLINK_TESTDIR"
