package names

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Resolver answers name look-ups with caches. Root prefixes the /etc
// files read (for fixtures); DNS may be nil to never ask a name server.
type Resolver struct {
	Root string
	// DNS does the reverse look-ups /etc/hosts cannot answer; nil means
	// none (numeric). The default, from NewResolver, uses the system's
	// resolver configuration as glibc's "dns" source would.
	DNS func(ctx context.Context, a netip.Addr) (string, bool)

	once     sync.Once
	services Services
	hosts    map[netip.Addr]string
	users    map[uint32]string
	cache    map[netip.Addr]string
}

// NewResolver returns a resolver over the host's files and DNS.
func NewResolver() *Resolver {
	return &Resolver{DNS: systemDNS}
}

func systemDNS(ctx context.Context, a netip.Addr) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r := &net.Resolver{PreferGo: true}
	names, err := r.LookupAddr(ctx, a.String())
	if err != nil || len(names) == 0 {
		return "", false
	}
	return strings.TrimSuffix(names[0], "."), true
}

func (r *Resolver) load() {
	r.once.Do(func() {
		root := r.Root
		if root == "" {
			root = "/"
		}
		r.services = Services{}
		if f, err := os.Open(filepath.Join(root, "etc/services")); err == nil {
			r.services.ParseServices(f)
			f.Close()
		}
		if f, err := os.Open(filepath.Join(root, "etc/protocols")); err == nil {
			r.services.ParseProtocols(f)
			f.Close()
		}
		r.hosts = map[netip.Addr]string{}
		if f, err := os.Open(filepath.Join(root, "etc/hosts")); err == nil {
			r.hosts = ParseHosts(f)
			f.Close()
		}
		r.users = map[uint32]string{}
		if f, err := os.Open(filepath.Join(root, "etc/passwd")); err == nil {
			r.users = ParsePasswd(f)
			f.Close()
		}
		r.cache = map[netip.Addr]string{}
	})
}

// Service returns the service name of port for proto ("tcp", "udp",
// "raw"), or "" when there is none.
func (r *Resolver) Service(port uint16, proto string) string {
	r.load()
	return r.services.Lookup(port, proto)
}

// Host returns the name of a, or "" when neither /etc/hosts nor DNS
// knows it.
func (r *Resolver) Host(a netip.Addr) string {
	r.load()
	if n, ok := r.cache[a]; ok {
		return n
	}
	n, ok := r.hosts[a]
	if !ok && r.DNS != nil {
		n, _ = r.DNS(context.Background(), a)
	}
	r.cache[a] = n
	return n
}

// User returns the login name of uid, or "".
func (r *Resolver) User(uid uint32) string {
	r.load()
	return r.users[uid]
}
