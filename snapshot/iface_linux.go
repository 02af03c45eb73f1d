//go:build linux

package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

type ifreq struct {
	name [unix.IFNAMSIZ]byte
	data [24]byte
}

func ifaceIoctl(fd int, req uint, name string, ifr *ifreq) error {
	// Only the name is reset: like net-tools' reused struct ifreq, a
	// failed call leaves the previous answer in place.
	ifr.name = [unix.IFNAMSIZ]byte{}
	copy(ifr.name[:unix.IFNAMSIZ-1], name)
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(ifr)))
	if e != 0 {
		return e
	}
	return nil
}

// ifaceConf lists SIOCGIFCONF's names: interfaces (and alias labels) with
// an IPv4 address.
func ifaceConf(fd int) ([]string, error) {
	n := 30
	for {
		buf := make([]ifreq, n)
		conf := struct {
			len int32
			_   int32
			buf uintptr
		}{len: int32(n * int(unsafe.Sizeof(ifreq{}))), buf: uintptr(unsafe.Pointer(&buf[0]))}
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGIFCONF, uintptr(unsafe.Pointer(&conf)))
		if e != 0 {
			return nil, e
		}
		if int(conf.len) == n*int(unsafe.Sizeof(ifreq{})) {
			n *= 2
			continue
		}
		var out []string
		for i := 0; i < int(conf.len)/int(unsafe.Sizeof(ifreq{})); i++ {
			out = append(out, unix.ByteSliceToString(buf[i].name[:]))
		}
		return out, nil
	}
}

func ifaceInet4(ifr *ifreq) [4]byte {
	var a [4]byte
	copy(a[:], ifr.data[4:8]) // sockaddr_in: family, port, addr
	return a
}

// ifaceFetch is net-tools' if_fetch.
func ifaceFetch(fd int, it *Interface) error {
	var ifr ifreq
	if err := ifaceIoctl(fd, unix.SIOCGIFFLAGS, it.Name, &ifr); err != nil {
		return err
	}
	it.Flags = int16(binary.NativeEndian.Uint16(ifr.data[:2]))
	if ifaceIoctl(fd, unix.SIOCGIFHWADDR, it.Name, &ifr) != nil {
		it.HWAddr = [16]byte{}
	} else {
		copy(it.HWAddr[:8], ifr.data[2:10])
	}
	it.Type = int(binary.NativeEndian.Uint16(ifr.data[:2]))
	if ifaceIoctl(fd, unix.SIOCGIFMTU, it.Name, &ifr) != nil {
		it.MTU = 0
	} else {
		it.MTU = int(int32(binary.NativeEndian.Uint32(ifr.data[:4])))
	}
	if ifaceIoctl(fd, unix.SIOCGIFMAP, it.Name, &ifr) == nil {
		it.Map = IfaceMap{
			MemStart: binary.NativeEndian.Uint64(ifr.data[0:8]),
			MemEnd:   binary.NativeEndian.Uint64(ifr.data[8:16]),
			BaseAddr: binary.NativeEndian.Uint16(ifr.data[16:18]),
			IRQ:      ifr.data[18], DMA: ifr.data[19], Port: ifr.data[20],
		}
	}
	if ifaceIoctl(fd, unix.SIOCGIFTXQLEN, it.Name, &ifr) != nil {
		it.TxQLen = -1
	} else {
		it.TxQLen = int(int32(binary.NativeEndian.Uint32(ifr.data[:4])))
	}
	if ifaceIoctl(fd, unix.SIOCGIFADDR, it.Name, &ifr) == nil {
		it.HasIP = true
		it.Addr = ifaceInet4(&ifr)
		if ifaceIoctl(fd, unix.SIOCGIFDSTADDR, it.Name, &ifr) == nil {
			it.Dest = ifaceInet4(&ifr)
		}
		if ifaceIoctl(fd, unix.SIOCGIFBRDADDR, it.Name, &ifr) == nil {
			it.Brd = ifaceInet4(&ifr)
		}
		if ifaceIoctl(fd, unix.SIOCGIFNETMASK, it.Name, &ifr) == nil {
			it.Netmask = ifaceInet4(&ifr)
		}
	}
	return nil
}

// Interfaces reads the interface table as netstat -i does: the devices
// of /proc/net/dev (under root) and SIOCGIFCONF, in net-tools' order,
// each completed with ioctls in the caller's network namespace. Fetching
// stops at the first interface whose flags cannot be read (FetchErr).
func Interfaces(root string) (IfaceSnapshot, error) {
	if root == "" {
		root = "/"
	}
	var snap IfaceSnapshot
	var list IfaceList
	stats := map[string]IfaceStats{}
	if f, err := os.Open(filepath.Join(root, "proc/net/dev")); err != nil {
		snap.ProcErr = err
	} else {
		devs, perr := ParseNetDev(f)
		f.Close()
		if perr != nil {
			snap.ProcErr = perr
		}
		for _, d := range devs {
			list.Add(d.Name)
			stats[d.Name] = d.Stats
		}
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return snap, fmt.Errorf("opening an inet socket: %w", err)
	}
	defer unix.Close(fd)
	names, cerr := ifaceConf(fd)
	if cerr != nil {
		snap.ConfErr = cerr
	}
	for _, n := range names {
		list.Add(n)
	}
	if f, err := os.Open(filepath.Join(root, "proc/net/if_inet6")); err == nil {
		snap.Addrs6, _ = ParseIfInet6(f)
		f.Close()
	}
	for _, n := range list.Names {
		it := Interface{Name: n}
		it.Stats, it.StatsValid = stats[n]
		if err := ifaceFetch(fd, &it); err != nil {
			it.FetchErr = err
			snap.Interfaces = append(snap.Interfaces, it)
			break
		}
		snap.Interfaces = append(snap.Interfaces, it)
	}
	if snap.ProcErr != nil && snap.ConfErr != nil {
		return snap, fmt.Errorf("reading interfaces: %w", errors.Join(snap.ProcErr, snap.ConfErr))
	}
	return snap, nil
}
