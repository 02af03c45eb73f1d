//go:build ignore

// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * bpfstat's kernel side: socket lifecycle events with their owning process.
 *
 *   TCP state     inet_sock_set_state, one of several attach strategies
 *                 (tp_btf, fentry, raw_tp, tracepoint, kprobe) chosen by
 *                 package tracer; all share handle_state().
 *   inet sockets  cgroup sock_create/sock_release/post_bind4/6/connect4/6:
 *                 cookies, binds, MPTCP connects, releases.
 *   syscalls      socket/socketpair/listen/accept/accept4, unix bind,
 *                 unix, UDP and RAW connect, and close: descriptors, unix
 *                 sockets, accept owners, sockets handed on.
 *   processes     sched_process_exec/exit/fork: comm after exec, and the
 *                 child that inherits an exited owner's sockets.
 *
 * Owners: events raised by a system call (socket, bind, listen, connect,
 * accept, unix close) carry the calling process; a close(2) that leaves
 * the socket held elsewhere says so (EVENT_DISOWN), for the reader to hand
 * it to the child that keeps it. Softirq-driven transitions
 * (SYN_RECV->ESTABLISHED, FIN from the peer, TIME_WAIT) run in whatever
 * task the CPU was in, so they are never attributed to the current task:
 * where the state hook has BTF (and so a cookie on every socket), its
 * events carry no owner and package tracer joins the one recorded by the
 * socket's system call events, by cookie, with the process records
 * (exec, exit, fork) for comms and inheritance. Keeping owners here in
 * sk_storage cost an allocation per socket and lookups per event, several
 * times what the join costs the reader. Without BTF (and for MPTCP
 * subflows, whose owner is another socket's) owners are kept here, by
 * socket address.
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_core_read.h"
#include "bpf_tracing.h"
#include "bpf_endian.h"
#include "core_fixes.h"
#include "bpfstat.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_MPTCP 262
#define SOCK_STREAM 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* Runtime knobs, set by package tracer before load. */
const volatile __u32 ignore_tgid = 0;   /* drop events owned by this process */
const volatile bool track_by_ptr = false; /* the state hook cannot use sk_storage */
/* Wake the reader only once this much is queued (0: on every record the
 * reader has caught up with); the reader polls on a short timer for the
 * rest. One wakeup per event costs more than the event itself. */
const volatile __u32 wakeup_bytes = 0;

/* struct owner: who holds a socket, written in process context only. */
struct owner {
	__u64 start_ns; /* creation, or SYN arrival for a passive open */
	__u32 pid;      /* tgid */
	__u32 tid;
	__u32 uid;
	__s32 fd;
	char comm[16];
	/* owner_by_sk: the socket's cookie when recorded. Socket memory is
	 * reused, and not every socket's entry is deleted (sockets that never
	 * left CLOSE, MPTCP sockets): a differing cookie marks a stale entry. */
	__u64 cookie;
};

/* Owners keyed by struct sock address, where the reader cannot join them
 * by cookie: the non-BTF state strategies (sockets cloned from a listener
 * have no cookie there), and MPTCP sockets (whose TCP subflows are kernel
 * sockets with cookies of their own). Deleted at TCP CLOSE. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct owner);
} owner_by_sk SEC(".maps");

struct listen_key {
	__u32 netns;
	__u16 port;
	__u16 _pad;
};

struct listen_owner {
	struct owner owner;
	__u64 sk;
};

/* Listening ports' owners, for passive opens without BTF: until
 * accept(2), a child belongs to whoever listened on its port. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listen_key);
	__type(value, struct listen_owner);
} listener_by_port SEC(".maps");

/* TCP sockets that reached CLOSE while still open, so sock_release does not
 * report their close twice. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u8);
} tcp_closed SEC(".maps");

/* A process's most recent child process, and processes that have exited:
 * when an owner has exited, its sockets belong to the child it forked
 * (daemons: fork, parent exits). For the owners kept here; the reader
 * follows the same rule from the process records. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} heir SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} exited SEC(".maps");

/* Syscall arguments from sys_enter to sys_exit (socketpair's vector,
 * listen's descriptor), by thread. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} sys_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); /* 16 MiB: ~120k events, a second of a busy host */
} events SEC(".maps");

/* Events dropped because the ring buffer was full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

const struct event *unused_event __attribute__((unused));
const struct unix_event *unused_unix_event __attribute__((unused));
const struct state_event *unused_state_event __attribute__((unused));
const enum event_kind unused_kind __attribute__((unused));
const enum event_flag unused_flag __attribute__((unused));

static __always_inline __u64 wakeup_flags(void)
{
	if (!wakeup_bytes)
		return 0;
	/* Wake once, as the queue crosses the mark: waking on every record
	 * past it costs an irq_work each and made events 5x dearer. */
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (avail >= wakeup_bytes && avail < wakeup_bytes + sizeof(struct event) + 8)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Adds one to a one-element per-CPU counter map (lost, state_quiet,
 * nested_taken). */
static __always_inline void count(void *counter)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(counter, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* State hook runs that send nothing, for the run count accounting (an
 * MPTCP connection socket's change, or none at all); a passive child's
 * LISTEN->SYN_RECV is not one: the reader makes its event. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} state_quiet SEC(".maps");

/* A zeroed event stamped now (bpf_ktime_get_ns, which callers that need
 * the time themselves read only once). */
static __always_inline struct event *reserve(__u64 now)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(&lost);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->fd = -1;
	return e;
}

static __always_inline struct unix_event *reserve_unix(__u64 now)
{
	struct unix_event *u = bpf_ringbuf_reserve(&events, sizeof(*u), 0);
	if (!u) {
		count(&lost);
		return NULL;
	}
	__builtin_memset(u, 0, sizeof(*u));
	u->ev.ts_ns = now;
	u->ev.fd = -1;
	return u;
}

/* The unix socket's own address, as bind(2) gave it. */
static __always_inline void fill_unix_path(struct unix_event *u, struct sock *sk)
{
	struct unix_address *a = BPF_CORE_READ((struct unix_sock *)sk, addr);
	if (!a)
		return;
	int len = BPF_CORE_READ(a, len) - (int)sizeof(__kernel_sa_family_t);
	if (len <= 0)
		return;
	if (len > (int)sizeof(u->path))
		len = sizeof(u->path);
	u->path_len = len;
	bpf_core_read(u->path, sizeof(u->path), &a->name[0].sun_path);
}

/* Fill an owner from the current task: process context only. */
static __always_inline void owner_current(struct owner *o, int fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	o->pid = id >> 32;
	o->tid = (__u32)id;
	o->uid = (__u32)bpf_get_current_uid_gid();
	o->fd = fd;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/*
 * Copy an owner into an event; false if the event is to be ignored.
 * inherit: the socket still has a file although its owner may have exited,
 * so a child that process forked holds it now (daemons: fork, parent
 * exits). Orphaned sockets, and events raised by the owner itself, keep
 * the recorded owner.
 */
static __always_inline bool set_owner(struct event *e, const struct owner *o, bool inherit)
{
	if (!o || !o->pid)
		return true;
	__u32 pid = o->pid, tid = o->tid;
	/* An owner that is running now has not exited: skip the lookups. */
	if (inherit && pid == bpf_get_current_pid_tgid() >> 32)
		inherit = false;
	for (int i = 0; i < 3 && inherit; i++) { /* up to a double fork */
		if (!bpf_map_lookup_elem(&exited, &pid))
			break;
		__u32 *h = bpf_map_lookup_elem(&heir, &pid);
		if (!h)
			break;
		pid = tid = *h;
	}
	if (ignore_tgid && pid == ignore_tgid)
		return false;
	e->pid = pid;
	e->tid = tid;
	e->uid = o->uid;
	e->fd = o->fd;
	e->flags |= EVENT_F_OWNER;
	/* the reader puts in the comm an exec gave pid since */
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	return true;
}

/*
 * SK(btf, sk, field): a plain load where sk is a BTF pointer (tp_btf,
 * fentry: checked by the verifier, no helper call), else a CO-RE
 * bpf_probe_read_kernel. btf must be a compile-time constant so that the
 * other branch is compiled out, or DIRECT (below), a load-time constant whose
 * dead branch the verifier drops. Only for fields of struct sock itself: the
 * verifier refuses casts of a BTF pointer to a larger type.
 */
#define SK(btf, sk, field) ((btf) ? (sk)->field : BPF_CORE_READ(sk, field))

/*
 * Without BTF, every field is a helper call: what fill_sock needs from
 * struct sock_common lies in its first SKC_HEAD bytes (88 on 6.x), read
 * in one go. False, for the field by field reads, on a kernel where it
 * does not (CO-RE constants: the verifier drops the dead branch).
 */
#define SKC_HEAD 96
static __always_inline bool fill_sock_head(struct event *e, struct sock *sk)
{
	if (bpf_core_field_offset(struct sock_common, skc_v6_rcv_saddr) + 16 > SKC_HEAD ||
	    bpf_core_field_offset(struct sock_common, skc_v6_daddr) + 16 > SKC_HEAD ||
	    bpf_core_field_offset(struct sock_common, skc_net) + 8 > SKC_HEAD ||
	    bpf_core_field_offset(struct sock_common, skc_family) + 2 > SKC_HEAD)
		return false;
	__u64 h[SKC_HEAD / 8];
	if (bpf_probe_read_kernel(h, sizeof(h), sk))
		return false;
	struct sock_common *c = (struct sock_common *)h;
	e->family = c->skc_family;
	e->type = BPF_CORE_READ(sk, sk_type);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	e->netns = BPF_CORE_READ(c->skc_net.net, ns.inum);
	struct socket *so = BPF_CORE_READ(sk, sk_socket);
	if (so)
		e->inode = BPF_CORE_READ((struct socket_alloc *)so, vfs_inode.i_ino);
	if (e->family == AF_UNIX) {
		e->protocol = 0;
		return true;
	}
	e->sport = c->skc_num;
	if (!e->sport)
		e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	e->dport = bpf_ntohs(c->skc_dport);
	if (e->family == AF_INET) {
		__u32 a = c->skc_rcv_saddr;
		__builtin_memcpy(e->saddr, &a, 4);
		a = c->skc_daddr;
		__builtin_memcpy(e->daddr, &a, 4);
	} else if (e->family == AF_INET6) {
		__builtin_memcpy(e->saddr, c->skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(e->daddr, c->skc_v6_daddr.in6_u.u6_addr8, 16);
	}
	if (e->protocol == IPPROTO_MPTCP)
		e->flags |= EVENT_F_MPTCP;
	return true;
}

/* Addresses, protocol and identity of a kernel socket (any context). */
static __always_inline void fill_sock(struct event *e, struct sock *sk, __u64 cookie, const bool btf)
{
	e->cookie = cookie;
	if (!btf && fill_sock_head(e, sk))
		return;
	e->family = SK(btf, sk, __sk_common.skc_family);
	e->type = SK(btf, sk, sk_type);
	e->protocol = SK(btf, sk, sk_protocol);
	struct net *net = SK(btf, sk, __sk_common.skc_net.net);
	e->netns = btf ? net->ns.inum : BPF_CORE_READ(net, ns.inum);
	struct socket *so = SK(btf, sk, sk_socket);
	/* A socket's file holds its inode (sock_alloc_file): plain loads on
	 * BTF pointers, where the container_of cast needs a helper. */
	struct file *f = btf && so ? so->file : NULL;
	if (f)
		e->inode = f->f_inode->i_ino;
	else if (so)
		e->inode = BPF_CORE_READ((struct socket_alloc *)so, vfs_inode.i_ino);
	if (e->family == AF_UNIX) {
		e->protocol = 0;
		return;
	}
	/* tcp_set_state(TCP_CLOSE) releases the port (clearing skc_num)
	 * before some transitions are traced; inet_sport survives. */
	e->sport = SK(btf, sk, __sk_common.skc_num);
	if (!e->sport)
		e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	e->dport = bpf_ntohs(SK(btf, sk, __sk_common.skc_dport));
	if (e->family == AF_INET) {
		__u32 a = SK(btf, sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(e->saddr, &a, 4);
		a = SK(btf, sk, __sk_common.skc_daddr);
		__builtin_memcpy(e->daddr, &a, 4);
	} else if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	if (e->protocol == IPPROTO_MPTCP)
		e->flags |= EVENT_F_MPTCP;
}

/* ---------------------------------------------------------------- TCP state */

/* owner_by_sk's entry for sk, unless it is a stale one left by an earlier
 * socket at the same address. An entry recorded before the socket had a
 * cookie is its own: the kernel gives a socket its cookie when anyone
 * first asks (a sock_diag dump, as ss or a snapshot makes, asks for every
 * socket it lists), so it may have one now; the entry learns it. */
static __always_inline struct owner *owner_of(__u64 skp, __u64 cookie)
{
	struct owner *o = bpf_map_lookup_elem(&owner_by_sk, &skp);
	if (!o || o->cookie == cookie)
		return o;
	if (!o->cookie) {
		o->cookie = cookie;
		return o;
	}
	bpf_map_delete_elem(&owner_by_sk, &skp);
	return NULL;
}

static __always_inline __u64 raw_cookie(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

/* The MPTCP connection socket a TCP subflow belongs to, or NULL. tp is
 * the BTF tcp_sock (plain loads) or NULL (probe reads through sk). */
static __always_inline struct sock *mptcp_conn(struct sock *sk, struct tcp_sock *btf_tp)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	if (!bpf_core_field_exists(tp->is_mptcp))
		return NULL;
	if (btf_tp ? !btf_tp->is_mptcp : !BPF_CORE_READ(tp, is_mptcp))
		return NULL;
	struct mptcp_subflow_context *sf = BPF_CORE_READ((struct inet_connection_sock *)sk, icsk_ulp_data);
	if (!sf)
		return NULL;
	return BPF_CORE_READ(sf, conn);
}

/* A state_event: what fill_sock reads of an IPv4 socket, by BTF pointer. */
static __always_inline void short_state(struct sock *sk, __u64 cookie, __u64 now, int oldstate, int newstate, __u8 flags)
{
	struct state_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(&lost);
		return;
	}
	e->ts_ns = now;
	e->cookie = cookie;
	e->netns = sk->__sk_common.skc_net.net->ns.inum;
	struct socket *so = sk->sk_socket;
	struct file *f = so ? so->file : NULL;
	e->inode = f ? f->f_inode->i_ino : 0;
	__u16 sport = sk->__sk_common.skc_num;
	if (!sport)
		sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	e->sport = sport;
	e->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	__u32 a = sk->__sk_common.skc_rcv_saddr;
	__builtin_memcpy(e->saddr, &a, 4);
	a = sk->__sk_common.skc_daddr;
	__builtin_memcpy(e->daddr, &a, 4);
	e->kind = EVENT_STATE;
	e->oldstate = oldstate;
	e->newstate = newstate;
	e->flags = flags;
	e->_pad0 = 0;
	bpf_ringbuf_submit(e, wakeup_flags());
}

/*
 * handle_state is shared by every strategy. btf is a compile-time constant:
 * true where sk is a BTF pointer (tp_btf, fentry), which may use the socket
 * cookie helper and sk_storage; false where it is a plain address.
 */
static __always_inline int handle_state(struct sock *sk, int oldstate, int newstate, const bool btf)
{
	if (SK(btf, sk, sk_protocol) != IPPROTO_TCP || oldstate == newstate) {
		count(&state_quiet);
		return 0;
	}
	/* A passive child's LISTEN->SYN_RECV (inet_csk_clone_lock) sends no
	 * record: the child leaves SYN_RECV in the same softirq (on the
	 * handshake's last ACK), and on Debian's 6.1 and 6.12 it is still a
	 * bare copy of its listener here (remote 0.0.0.0:0). Package tracer
	 * makes the event, with that record's time, from the child's next
	 * record, which has the addresses. (A Fast Open child, which may be
	 * accepted before the handshake ends, shows its entry that late.) */
	if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV)
		return 0;

	__u64 skp = (__u64)sk;
	__u64 now = bpf_ktime_get_ns();
	__u64 cookie = btf ? bpf_get_socket_cookie(sk) : raw_cookie(sk);
	struct tcp_sock *tp = btf ? bpf_skc_to_tcp_sock(sk) : NULL;
	struct sock *conn = !btf || tp ? mptcp_conn(sk, tp) : NULL;
	/* With BTF the reader joins owners by cookie: only an MPTCP
	 * subflow's (its MPTCP socket's) is looked up here. */
	struct owner *o = NULL;
	bool by_sk = !btf; /* owner_by_sk holds this socket's own owner */
	if (by_sk)
		o = owner_of(skp, cookie);
	if (!o && conn)
		o = owner_of((__u64)conn, raw_cookie(conn));
	struct owner no; /* a new owner_by_sk entry, as stored */
	if (!o && by_sk && (newstate == TCP_SYN_RECV || oldstate == TCP_SYN_RECV)) {
		struct listen_key k = {
			.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum),
			.port = BPF_CORE_READ(sk, __sk_common.skc_num),
		};
		struct listen_owner *l = bpf_map_lookup_elem(&listener_by_port, &k);
		if (l) {
			no = l->owner;
			no.start_ns = now;
			no.cookie = cookie;
			bpf_map_update_elem(&owner_by_sk, &skp, &no, BPF_ANY);
			o = &no;
		}
	}
	if (!o && track_by_ptr && newstate == TCP_SYN_SENT) {
		/* connect(2) runs in process context: adopt the caller. */
		no = (struct owner){.start_ns = now, .cookie = cookie};
		owner_current(&no, -1);
		bpf_map_update_elem(&owner_by_sk, &skp, &no, BPF_ANY);
		o = &no;
	}

	/* Copy before a CLOSE deletes the map element o may point into. */
	struct owner cur = {};
	if (o)
		cur = *o;
	__u64 start = cur.start_ns;

	bool closing = newstate == TCP_CLOSE;
	if (closing) {
		if (by_sk)
			bpf_map_delete_elem(&owner_by_sk, &skp);
		if (SK(btf, sk, sk_socket)) {
			/* still open: sock_release must not report it again */
			__u8 one = 1;
			if (cookie)
				bpf_map_update_elem(&tcp_closed, &cookie, &one, BPF_ANY);
		}
		if (oldstate == TCP_LISTEN) {
			struct listen_key k = {
				.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum),
				.port = BPF_CORE_READ(sk, __sk_common.skc_num),
			};
			struct listen_owner *l = bpf_map_lookup_elem(&listener_by_port, &k);
			if (l && l->sk == skp)
				bpf_map_delete_elem(&listener_by_port, &k);
		}
	}

	/* sock_orphan() marks a socket whose last descriptor is gone DEAD;
	 * any other socket (embryonic children included) may be inherited. */
	bool orphan = SK(btf, sk, __sk_common.skc_flags) & (1UL << SOCK_DEAD);
	__u8 flags = (conn ? EVENT_F_MPTCP : 0) | (orphan ? EVENT_F_ORPHAN : 0);

	if (btf && !closing && !cur.pid && sk->__sk_common.skc_family == AF_INET) {
		short_state(sk, cookie, now, oldstate, newstate, flags);
		return 0;
	}
	struct event *e = reserve(now);
	if (!e)
		return 0;
	fill_sock(e, sk, cookie, btf);
	e->flags |= flags;
	e->kind = closing ? EVENT_CLOSE : EVENT_STATE;
	e->oldstate = oldstate;
	e->newstate = newstate;
	if (!set_owner(e, &cur, !orphan)) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	if (closing) {
		if (start)
			e->lifetime_ns = e->ts_ns - start;
		if (tp) {
			e->bytes_sent = tp->bytes_acked;
			e->bytes_received = tp->bytes_received;
		} else if (!btf) {
			struct tcp_sock *rtp = (struct tcp_sock *)sk;
			e->bytes_sent = BPF_CORE_READ(rtp, bytes_acked);
			e->bytes_received = BPF_CORE_READ(rtp, bytes_received);
		}
	}
	bpf_ringbuf_submit(e, wakeup_flags());
	return 0;
}

/*
 * The kernel never nests a tracing program on a CPU: a state change in
 * softirq context that interrupts state_tp_btf, running there for another
 * socket, would not be traced at all (recursion_misses: about one in 10^5
 * events under load). A second program on the same tracepoint,
 * state_tp_btf_nested, runs after it for every event and takes those
 * state_tp_btf did not start: state_tp_btf notes each event it starts on
 * in state_last, first thing, and an event that is not the one noted
 * there is one it skipped (an interrupted run noted its own).
 */
struct state_key {
	__u64 sk;
	__u32 oldstate;
	__u32 newstate;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct state_key);
} state_last SEC(".maps");

/* Events state_tp_btf_nested took: each is one of state_tp_btf's
 * recursion_misses that was not lost after all. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nested_taken SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_tp_btf, struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	struct state_key *last = bpf_map_lookup_elem(&state_last, &zero);
	if (last) {
		last->sk = (__u64)sk;
		last->oldstate = oldstate;
		last->newstate = newstate;
	}
	return handle_state(sk, oldstate, newstate, true);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_tp_btf_nested, struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	struct state_key *last = bpf_map_lookup_elem(&state_last, &zero);
	if (!last || (last->sk == (__u64)sk && last->oldstate == (__u32)oldstate && last->newstate == (__u32)newstate))
		return 0; /* state_tp_btf took it */
	count(&nested_taken);
	return handle_state(sk, oldstate, newstate, true);
}

/* fentry: tcp_set_state misses the transitions made by inet_sk_set_state
 * (listen, child creation); only for kernels whose tracepoint cannot attach. */
SEC("fentry/tcp_set_state")
int BPF_PROG(state_fentry, struct sock *sk, int state)
{
	return handle_state(sk, sk->__sk_common.skc_state, state, true);
}

SEC("raw_tp/inet_sock_set_state")
int state_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return handle_state((struct sock *)ctx->args[0], (int)ctx->args[1], (int)ctx->args[2], false);
}

SEC("tracepoint/sock/inet_sock_set_state")
int state_tracepoint(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	return handle_state((struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate, false);
}

/* pt_regs layouts: one object serves amd64 and arm64, so registers are
 * read through CO-RE flavours rather than __TARGET_ARCH. arm64 keeps the
 * first argument in orig_x0 once x0 holds the return value. */
struct pt_regs___x86 {
	unsigned long di;
	unsigned long si;
} __attribute__((preserve_access_index));

struct pt_regs___arm64 {
	unsigned long regs[31];
	unsigned long orig_x0;
} __attribute__((preserve_access_index));

/* kprobe: for kernels older than the inet_sock_set_state tracepoint (4.16);
 * like fentry it misses inet_sk_set_state's transitions. */
SEC("kprobe/tcp_set_state")
int state_kprobe(struct pt_regs *regs)
{
	struct sock *sk;
	int state;
	if (bpf_core_field_exists(((struct pt_regs___x86 *)regs)->di)) {
		sk = (struct sock *)BPF_CORE_READ((struct pt_regs___x86 *)regs, di);
		state = (int)BPF_CORE_READ((struct pt_regs___x86 *)regs, si);
	} else {
		sk = (struct sock *)BPF_CORE_READ((struct pt_regs___arm64 *)regs, regs[0]);
		state = (int)BPF_CORE_READ((struct pt_regs___arm64 *)regs, regs[1]);
	}
	return handle_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), state, false);
}

/* ------------------------------------------------------ cgroup inet sockets */

/* cgroup hook: gives every new inet socket its cookie, by which the
 * reader joins its events (the hooks without BTF read it raw, and the
 * kernel assigns one only when first asked). */
SEC("cgroup/sock_create")
int cg_sock_create(struct bpf_sock *sk)
{
	bpf_get_socket_cookie(sk);
	return 1;
}

/* An event about sk raised by the calling process (bind, connect); false
 * if the event is to be ignored. */
static __always_inline struct event *cg_event(struct bpf_sock *sk, __u64 cookie, __u8 kind)
{
	struct event *e = reserve(bpf_ktime_get_ns());
	if (!e)
		return NULL;
	e->kind = kind;
	e->family = sk->family;
	e->type = sk->type;
	e->protocol = sk->protocol;
	e->cookie = cookie;
	if (e->protocol == IPPROTO_MPTCP)
		e->flags |= EVENT_F_MPTCP;
	struct owner o;
	owner_current(&o, -1);
	if (!set_owner(e, &o, false)) {
		bpf_ringbuf_discard(e, 0);
		return NULL;
	}
	return e;
}

/* cgroup hook: there is no bind tracepoint. */
SEC("cgroup/post_bind4")
int cg_post_bind4(struct bpf_sock *sk)
{
	struct event *e = cg_event(sk, bpf_get_socket_cookie(sk), EVENT_BIND);
	if (!e)
		return 1;
	__u32 a = sk->src_ip4;
	__builtin_memcpy(e->saddr, &a, 4);
	e->sport = sk->src_port;
	bpf_ringbuf_submit(e, wakeup_flags());
	return 1;
}

/* cgroup hook: there is no bind tracepoint. */
SEC("cgroup/post_bind6")
int cg_post_bind6(struct bpf_sock *sk)
{
	struct event *e = cg_event(sk, bpf_get_socket_cookie(sk), EVENT_BIND);
	if (!e)
		return 1;
	__u32 a[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};
	__builtin_memcpy(e->saddr, a, 16);
	e->sport = sk->src_port;
	bpf_ringbuf_submit(e, wakeup_flags());
	return 1;
}

/* A plain TCP connect(2) needs no record of its own: the reader makes its
 * connect event from the CLOSE->SYN_SENT transition the same call makes
 * (with the local address already chosen). An MPTCP one does. */
static __always_inline bool mptcp_connect(struct bpf_sock *sk)
{
	return sk->type == SOCK_STREAM && sk->protocol == IPPROTO_MPTCP;
}

/* cgroup hook: an MPTCP connect, whose transitions are its subflows'
 * (a UDP or RAW one is reported by sys_exit_connect, with the local address
 * the kernel picks after this hook). The local address is the bound one,
 * if any. */
SEC("cgroup/connect4")
int cg_connect4(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk || !mptcp_connect(sk))
		return 1;
	struct event *e = cg_event(sk, bpf_get_socket_cookie(ctx), EVENT_CONNECT);
	if (!e)
		return 1;
	__u32 a = sk->src_ip4;
	__builtin_memcpy(e->saddr, &a, 4);
	e->sport = sk->src_port;
	a = ctx->user_ip4;
	__builtin_memcpy(e->daddr, &a, 4);
	e->dport = bpf_ntohs(ctx->user_port);
	bpf_ringbuf_submit(e, wakeup_flags());
	return 1;
}

/* cgroup hook: as connect4. */
SEC("cgroup/connect6")
int cg_connect6(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk || !mptcp_connect(sk))
		return 1;
	struct event *e = cg_event(sk, bpf_get_socket_cookie(ctx), EVENT_CONNECT);
	if (!e)
		return 1;
	__u32 a[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};
	__builtin_memcpy(e->saddr, a, 16);
	e->sport = sk->src_port;
	__u32 d[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
	__builtin_memcpy(e->daddr, d, 16);
	e->dport = bpf_ntohs(ctx->user_port);
	bpf_ringbuf_submit(e, wakeup_flags());
	return 1;
}

/* cgroup hook: UDP and RAW sockets have no state tracepoint to see them
 * go. This hook can read neither the socket's addresses nor, here, who
 * holds it: the reader fills both in from the socket's earlier events. */
SEC("cgroup/sock_release")
int cg_sock_release(struct bpf_sock *sk)
{
	/* TCP closes are reported by the state hook, except for sockets that
	 * never left CLOSE (never connected), or reached it before release. */
	if (sk->type == SOCK_STREAM && (sk->protocol == IPPROTO_TCP || sk->protocol == IPPROTO_MPTCP)) {
		/* Not before this test: a cookie given to a socket still open
		 * would no longer match the one its owner was recorded with by
		 * address (non-BTF strategies). */
		if (sk->state != TCP_CLOSE)
			return 1;
		__u64 cookie = bpf_get_socket_cookie(sk);
		if (bpf_map_lookup_elem(&tcp_closed, &cookie)) {
			bpf_map_delete_elem(&tcp_closed, &cookie);
			return 1;
		}
	}
	struct event *e = reserve(bpf_ktime_get_ns());
	if (!e)
		return 1;
	e->kind = EVENT_CLOSE;
	e->family = sk->family;
	e->type = sk->type;
	e->protocol = sk->protocol;
	e->oldstate = sk->state;
	e->newstate = TCP_CLOSE;
	e->cookie = bpf_get_socket_cookie(sk);
	/* the last reference is gone: no heir takes it over */
	e->flags = EVENT_F_ORPHAN;
	if (e->protocol == IPPROTO_MPTCP)
		e->flags |= EVENT_F_MPTCP;
	bpf_ringbuf_submit(e, wakeup_flags());
	return 1;
}

/* ------------------------------------------------------------------ syscalls */

/*
 * bpf_rdonly_cast (Linux 6.2+) makes an address a BTF pointer whose loads
 * are plain instructions (fault-checked) instead of a helper call each.
 * The system call hooks read the descriptor's file and socket through it
 * where the kernel has it (DIRECT: a load-time constant, so the verifier
 * drops the other branch), by bpf_probe_read_kernel where not.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define DIRECT (bpf_rdonly_cast != 0)

/* The families bpfstat reports: netlink, packet, vsock and the rest are
 * not netstat's (AF_PACKET's raw sockets included). */
static __always_inline bool traced_family(__u16 family)
{
	return family == AF_UNIX || family == AF_INET || family == AF_INET6;
}

/*
 * The socket behind the current task's descriptor fd, if it is of a
 * traced family, or NULL; a BTF pointer if DIRECT. The walk to the
 * descriptor table is plain loads on the BTF task pointer; the slot takes
 * a probe read. sys_enter_close runs this for every close(2) on the host.
 */
static __always_inline struct sock *fd_sock(long fd, struct file **fp)
{
	if (fd < 0)
		return NULL;
	struct task_struct *t = bpf_get_current_task_btf();
	struct files_struct *files = t->files;
	if (!files)
		return NULL;
	struct fdtable *fdt = files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return NULL;
	struct file **fds = fdt->fd;
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return NULL;
	if (DIRECT) {
		struct file *uf = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
		if ((uf->f_inode->i_mode & S_IFMT) != S_IFSOCK)
			return NULL;
		struct socket *uso = bpf_rdonly_cast(uf->private_data, bpf_core_type_id_kernel(struct socket));
		if (!uso)
			return NULL;
		struct sock *usk = uso->sk;
		if (!usk || !traced_family(usk->__sk_common.skc_family))
			return NULL;
		if (fp)
			*fp = f;
		return usk;
	}
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *so = BPF_CORE_READ(f, private_data);
	if (!so)
		return NULL;
	struct sock *sk = BPF_CORE_READ(so, sk);
	if (!sk || !traced_family(BPF_CORE_READ(sk, __sk_common.skc_family)))
		return NULL;
	if (fp)
		*fp = f;
	return sk;
}

/* What the syscall hooks need to know about a socket after its event. */
struct sock_id {
	__u64 cookie;
	__u32 netns;
	__u16 family;
	__u16 protocol;
	__u16 sport;
	__u8 type;
};

static __always_inline void read_sock_id(struct sock *sk, struct sock_id *id)
{
	id->cookie = raw_cookie(sk);
	id->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	id->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	id->protocol = BPF_CORE_READ(sk, sk_protocol);
	id->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	id->type = BPF_CORE_READ(sk, sk_type);
}

static __always_inline bool id_is_tcp(const struct sock_id *id)
{
	return id->family != AF_UNIX && id->type == SOCK_STREAM &&
	       (id->protocol == IPPROTO_TCP || id->protocol == IPPROTO_MPTCP);
}

/* Emit a process-context event about sk, the socket behind fd; its owner
 * (the current task) into ow and its identity into id, if asked. */
static __always_inline void fd_event(long fd, struct sock *sk, __u8 kind, struct owner *ow, struct sock_id *id)
{
	__u64 now = bpf_ktime_get_ns();
	struct owner o = {.start_ns = now};
	owner_current(&o, fd);
	if (ow)
		*ow = o;
	struct event *e;
	if (SK(DIRECT, sk, __sk_common.skc_family) == AF_UNIX) {
		struct unix_event *u = reserve_unix(now);
		if (!u)
			goto lost;
		fill_unix_path(u, sk);
		e = &u->ev;
	} else {
		e = reserve(now);
		if (!e)
			goto lost;
	}
	if (DIRECT)
		fill_sock(e, sk, sk->__sk_common.skc_cookie.counter, true);
	else
		fill_sock(e, sk, raw_cookie(sk), false);
	e->kind = kind;
	if (kind == EVENT_LISTEN && e->family != AF_UNIX) {
		/* TCP numbering; unix sockets use SS_* states, left unset */
		e->oldstate = TCP_CLOSE;
		e->newstate = TCP_LISTEN;
	}
	if (kind == EVENT_CONNECT && e->family != AF_UNIX) {
		/* UDP/RAW: ESTABLISHED, or CLOSE after connect(AF_UNSPEC),
		 * which leaves an IPv6 socket's peer address in place */
		e->newstate = SK(DIRECT, sk, __sk_common.skc_state);
	}
	if (id) {
		id->cookie = e->cookie;
		id->netns = e->netns;
		id->family = e->family;
		id->protocol = e->family == AF_UNIX ? 0 : e->protocol;
		id->sport = e->sport;
		id->type = e->type;
	}
	if (!set_owner(e, &o, false)) {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	bpf_ringbuf_submit(e, wakeup_flags());
	return;
lost:
	if (id)
		read_sock_id(sk, id);
}

static __always_inline void new_socket(long fd)
{
	struct sock *sk = fd_sock(fd, NULL);
	if (!sk)
		return;
	struct owner o;
	struct sock_id id;
	fd_event(fd, sk, EVENT_SOCKET, &o, &id);
	if (!id_is_tcp(&id))
		return;
	if (track_by_ptr || id.protocol == IPPROTO_MPTCP) {
		__u64 skp = (__u64)sk;
		o.cookie = id.cookie;
		bpf_map_update_elem(&owner_by_sk, &skp, &o, BPF_ANY);
	}
}

SEC("tracepoint/syscalls/sys_exit_socket")
int sys_exit_socket(struct trace_event_raw_sys_exit *ctx)
{
	new_socket(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_socketpair")
int sys_enter_socketpair(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 sv = ctx->args[3];
	bpf_map_update_elem(&sys_args, &tid, &sv, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_socketpair")
int sys_exit_socketpair(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *sv = bpf_map_lookup_elem(&sys_args, &tid);
	if (!sv)
		return 0;
	int fds[2] = {-1, -1};
	bpf_probe_read_user(fds, sizeof(fds), (void *)*sv);
	bpf_map_delete_elem(&sys_args, &tid);
	if (ctx->ret != 0)
		return 0;
	new_socket(fds[0]);
	new_socket(fds[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_listen")
int sys_enter_listen(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 fd = ctx->args[0];
	bpf_map_update_elem(&sys_args, &tid, &fd, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_listen")
int sys_exit_listen(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *fdp = bpf_map_lookup_elem(&sys_args, &tid);
	if (!fdp)
		return 0;
	long fd = (long)*fdp;
	bpf_map_delete_elem(&sys_args, &tid);
	if (ctx->ret != 0)
		return 0;
	struct sock *sk = fd_sock(fd, NULL);
	if (!sk)
		return 0;
	struct owner o;
	struct sock_id id;
	fd_event(fd, sk, EVENT_LISTEN, &o, &id);
	if (!id_is_tcp(&id))
		return 0;
	if (!track_by_ptr)
		return 0; /* the reader keeps listeners' owners */
	struct listen_owner l = {.owner = o, .sk = (__u64)sk};
	l.owner.fd = -1;
	struct listen_key k = {.netns = id.netns, .port = id.sport};
	bpf_map_update_elem(&listener_by_port, &k, &l, BPF_ANY);
	return 0;
}

/*
 * bind(2) and connect(2) of unix sockets, and connect(2) of UDP and RAW
 * ones, once the kernel has picked the local address (a TCP connect is
 * its CLOSE->SYN_SENT, an inet bind post_bind's). Only the exit is hooked:
 * every connect(2) on the host passes here, most fail (EINPROGRESS) and
 * stop at the return value, and the descriptor of the rest is still in
 * the task's saved registers. (A connect made through io_uring makes no
 * system call: unseen, as with unix sockets.)
 */
static __always_inline void call_done(long ret, __u8 kind)
{
	if (ret != 0)
		return;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long fd;
	if (bpf_core_field_exists(((struct pt_regs___x86 *)regs)->di))
		fd = (int)BPF_CORE_READ((struct pt_regs___x86 *)regs, di);
	else
		fd = (int)BPF_CORE_READ((struct pt_regs___arm64 *)regs, orig_x0);
	struct sock *sk = fd_sock(fd, NULL);
	if (!sk)
		return;
	if (SK(DIRECT, sk, __sk_common.skc_family) != AF_UNIX &&
	    (kind != EVENT_CONNECT || SK(DIRECT, sk, sk_type) == SOCK_STREAM))
		return;
	fd_event(fd, sk, kind, NULL, NULL);
}

SEC("tracepoint/syscalls/sys_exit_bind")
int sys_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	call_done(ctx->ret, EVENT_BIND);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	call_done(ctx->ret, EVENT_CONNECT);
	return 0;
}

static __always_inline void accepted(long fd)
{
	struct sock *sk = fd_sock(fd, NULL);
	if (!sk)
		return;
	struct owner o;
	struct sock_id id;
	fd_event(fd, sk, EVENT_ACCEPT, &o, &id);
	if (!id_is_tcp(&id) || !(track_by_ptr || id.protocol == IPPROTO_MPTCP))
		return;
	/* The acceptor owns it from now on, whoever owned the listener. A
	 * whole new value, not edited in place: a state event on another CPU
	 * may be reading the old one. */
	__u64 skp = (__u64)sk;
	o.cookie = id.cookie;
	struct owner *old = owner_of(skp, o.cookie);
	o.start_ns = old ? old->start_ns : 0;
	bpf_map_update_elem(&owner_by_sk, &skp, &o, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int sys_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	accepted(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int sys_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	accepted(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int sys_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	/* inet sockets are reported by sock_release and the state hook; unix
	 * sockets only here, when the last descriptor goes. A descriptor
	 * closed while another holds the socket (a fork's child, a dup) is a
	 * change of owner the reader may know the heir of. */
	struct file *f = NULL;
	long fd = (long)ctx->args[0];
	struct sock *sk = fd_sock(fd, &f);
	if (!sk)
		return 0;
	__u8 kind = EVENT_DISOWN;
	if (file_refs(f) == 1) {
		if (SK(DIRECT, sk, __sk_common.skc_family) != AF_UNIX)
			return 0;
		kind = EVENT_CLOSE;
	}
	fd_event(fd, sk, kind, NULL, NULL);
	return 0;
}

/* ----------------------------------------------------------------- processes */

/* A process record for the reader's owner join (and heir, exited for the
 * owners kept here). */
static __always_inline void proc_event(__u8 kind, __u32 pid, __u32 child)
{
	struct event *e = reserve(bpf_ktime_get_ns());
	if (!e)
		return;
	e->kind = kind;
	e->flags = EVENT_F_OWNER;
	e->pid = pid;
	e->tid = child;
	if (kind == EVENT_EXEC)
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, wakeup_flags());
}

SEC("raw_tp/sched_process_exec")
int sched_exec(void *ctx)
{
	proc_event(EVENT_EXEC, bpf_get_current_pid_tgid() >> 32, 0);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int sched_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u8 one = 1;
	if (tgid != (__u32)id)
		return 0; /* a thread */
	bpf_map_update_elem(&exited, &tgid, &one, BPF_ANY);
	proc_event(EVENT_EXIT, tgid, 0);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int sched_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	if (ctgid != BPF_CORE_READ(child, pid))
		return 0; /* a thread */
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	bpf_map_update_elem(&heir, &ptgid, &ctgid, BPF_ANY);
	/* a recycled pid starts afresh */
	bpf_map_delete_elem(&exited, &ctgid);
	bpf_map_delete_elem(&heir, &ctgid);
	proc_event(EVENT_FORK, ptgid, ctgid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
