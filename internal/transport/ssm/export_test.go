package ssm

// Sealed makes the transport seal apply and rollback specs whatever the
// agent of this build reads: for tests whose stand-in agent reads them.
func Sealed(o *Options) { o.sealAlways = true }
