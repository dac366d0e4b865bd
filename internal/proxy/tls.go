package proxy

import (
	"crypto/tls"
	"fmt"
	"log"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate pair from cert_file and key_file and
// rereads it when either file's modification time or size changes, so a
// renewed certificate (certbot, a copy into shared/) takes effect at the
// next handshake without a restart. A pair that does not load (a renewal
// caught between writing the certificate and the key) keeps the last good
// one and is tried again at the next handshake.
type certReloader struct {
	certFile, keyFile string
	log               *log.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	checked time.Time
	// failed is the stamp of a pair that did not load, so that it is
	// reported once, not at every handshake.
	failed [2]fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// statEvery bounds how often handshakes stat the files: a busy proxy
// needs no two stats a millisecond apart to notice a renewal.
const statEvery = 100 * time.Millisecond

func newCertReloader(certFile, keyFile string, l *log.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: l}
	st, err := c.stat()
	if err != nil {
		return nil, err
	}
	if err := c.load(st); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certReloader) stat() ([2]fileStamp, error) {
	var st [2]fileStamp
	for i, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return st, fmt.Errorf("proxy tls: %w", err)
		}
		st[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return st, nil
}

func (c *certReloader) load(st [2]fileStamp) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("proxy tls: load %s and %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.stamp = &cert, st
	return nil
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < statEvery {
		return c.cert, nil
	}
	c.checked = time.Now()
	st, err := c.stat()
	if err != nil {
		c.log.Printf("%v (serving the certificate loaded before)", err)
		return c.cert, nil
	}
	if st != c.stamp && st != c.failed {
		if err := c.load(st); err != nil {
			c.failed = st
			c.log.Printf("%v (serving the certificate loaded before)", err)
		} else {
			c.log.Printf("proxy tls: reloaded %s", c.certFile)
		}
	}
	return c.cert, nil
}
