/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The contract between bpfstat.bpf.c and package tracer. bpf2go generates
 * the Go types from this file (-type event -type event_kind); never mirror
 * them by hand. Fixed-width types and explicit padding only, so that the
 * layout is the same for clang and Go on every 64-bit little-endian target.
 */
#ifndef BPFSTAT_H
#define BPFSTAT_H

enum event_kind {
	EVENT_SOCKET = 1,  /* socket(2)/socketpair(2) returned a descriptor */
	EVENT_BIND = 2,    /* bind(2) succeeded (cgroup post_bind4/6) */
	EVENT_LISTEN = 3,  /* listen(2) succeeded */
	EVENT_CONNECT = 4, /* connect(2) called (cgroup connect4/6): daddr is the target */
	EVENT_ACCEPT = 5,  /* accept(2)/accept4(2) returned a descriptor */
	EVENT_STATE = 6,   /* TCP state transition */
	EVENT_CLOSE = 7,   /* TCP reached CLOSE, or the last reference was released */
	/* Process records, for package tracer's owner join; not socket
	 * events. pid is the process (tgid), comm its name. */
	EVENT_EXEC = 8, /* pid exec'd: comm is the new name */
	EVENT_EXIT = 9, /* pid's thread-group leader exited */
	EVENT_FORK = 10, /* pid forked a new process: tid is the child's tgid */
	/* pid closed its descriptor fd of a socket something else still
	 * holds: most often a child it forked (a forking server's parent
	 * closing its copy), else a dup, an fd in flight in a message, or a
	 * passing reference; the reader decides which. */
	EVENT_DISOWN = 11,
};

enum event_flag {
	EVENT_F_OWNER = 1 << 0, /* pid/tid/uid/comm are known */
	EVENT_F_MPTCP = 1 << 1, /* an IPPROTO_MPTCP socket or one of its subflows */
	EVENT_F_ORPHAN = 1 << 2, /* no descriptor is left (SOCK_DEAD): the owner is not inherited */
};

struct event {
	__u64 ts_ns;          /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
	__u64 cookie;         /* socket cookie, 0 if the kernel has none yet */
	__u64 inode;          /* socket inode, 0 if unknown */
	__u64 lifetime_ns;    /* EVENT_CLOSE of TCP: since creation or SYN */
	__u64 bytes_sent;     /* EVENT_CLOSE of TCP: tcp_sock.bytes_acked */
	__u64 bytes_received; /* EVENT_CLOSE of TCP: tcp_sock.bytes_received */
	__u8 saddr[16];       /* local address: IPv4 in the first 4 bytes */
	__u8 daddr[16];       /* remote address */
	__u32 netns;          /* network namespace inode */
	__u32 pid;            /* owner's tgid */
	__u32 tid;            /* owner's thread id */
	__u32 uid;            /* owner's uid */
	__s32 fd;             /* owner's descriptor, -1 if unknown */
	__u16 sport;          /* local port, host byte order */
	__u16 dport;          /* remote port, host byte order */
	__u16 family;         /* AF_UNIX, AF_INET, AF_INET6 */
	__u16 protocol;       /* IPPROTO_* (262 for MPTCP); 0 for unix */
	__u8 kind;            /* enum event_kind */
	__u8 oldstate;        /* TCP states as in include/net/tcp_states.h */
	__u8 newstate;
	__u8 type;            /* SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, ... */
	__u8 flags;           /* enum event_flag */
	__u8 _pad0[3];
	char comm[16];        /* owner's comm */
	__u32 _pad1;
};

/*
 * A TCP state change of an IPv4 socket with no owner to report (the reader
 * joins it): most of the records, in a third of an event's space. As an
 * event with family AF_INET, protocol IPPROTO_TCP, type SOCK_STREAM, fd -1
 * and no owner. Told apart from the others by its length.
 */
struct state_event {
	__u64 ts_ns;
	__u64 cookie;
	__u64 inode;
	__u32 netns;
	__u8 saddr[4];
	__u8 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 kind; /* EVENT_STATE */
	__u8 oldstate;
	__u8 newstate;
	__u8 flags;
	__u32 _pad0;
};

/* Unix socket events carry the socket's own address after the event. */
struct unix_event {
	struct event ev;
	__u16 path_len; /* bytes of path in use; abstract names start with a NUL */
	__u8 _pad0[6];
	char path[108]; /* sun_path, not NUL-terminated */
	__u32 _pad1;
};

#endif /* BPFSTAT_H */
