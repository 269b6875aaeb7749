// nox-cargo bench launcher: spawns measured runs from a process that is a few hundred KiB big.
//
// Timed runs are started with posix_spawn (a vfork: the launcher sleeps until the child has
// exec'd, as hyperfine and Rust's Command do) and timed with CLOCK_MONOTONIC from just before
// posix_spawn to just after wait4; user/sys CPU come from wait4's rusage. A fork()ed child is a
// new task the scheduler runs when it gets to it: on a loaded 2-core machine that added a
// load-dependent wait of up to milliseconds to every run (medians 3.9 ms vs 2.0 ms for the same
// 1.1 ms ripgrep startup), which diluted a real 11 % slowdown to +2.8 %.
//
// Peak RSS comes from separate fork()ed runs: a vforked child's ru_maxrss includes the
// launcher's own high-water mark (~2 MB), a forked child's starts from its own small copy. (A
// child forked from Python inherits Python's ~14 MB: hence a native launcher at all.)
//
// std only, no crates; libc functions are declared below. Built by nox-cargo with the workspace's
// own rustc: `rustc -O launcher.rs -o launcher`.
//
// Usage: launcher SPEC
// SPEC is a text file, one directive per line, fields separated by TABs:
//   jobs\tP                      at most P runs in flight (default 1: strictly sequential)
//   timeout\tMS                  a run still going after MS milliseconds is killed with its
//                                whole process group (default 0: no limit)
//   cmd\tSTDIN\tARG0\tARG1...     a command; STDIN is a file path or `-` for /dev/null
//   run\tCMD\tFLAG               run command number CMD (0-based, in `cmd` order); FLAG `m` =
//                                timed (reported), `w` = warm-up (run, checked, not reported),
//                                `r` = peak-memory run (forked, reported; its wall time is not
//                                a timing sample)
//   prepare\tCMD\tPREP           before every run of CMD (warm-up, timed or memory), run command
//                                PREP to its end, untimed: outside the run's wall clock, which
//                                starts after it. A PREP that does not exit 0 fails like a run
//                                (its line has cmd = PREP and zero times).
// Output, one TAB-separated line per reported run, in completion order:
//   seq  cmd  wall_ns  user_us  sys_us  maxrss_kib  status
// where status is the exit code, or 128+N for a child killed by signal N, or -1 for a run killed
// at its timeout, or 127 for a command that could not be started; then one line
//   total  wall_ns_of_all_runs_including_warmups
// A run that does not exit 0 stops the launcher after its line is printed: exit status 3.
//
// Each run is the leader of its own process group, so a timeout kills what the run started too.
// A watchdog thread sleeps until the deadline it last saw as the earliest; a new run wakes it only
// when its deadline is earlier still, which with a constant timeout is never after the first run:
// a thread woken per run took ~50 µs from every measured run on a 2-core machine. SIGINT, SIGTERM
// and SIGHUP kill the process groups of the runs in flight before the launcher exits, so an
// interrupted bench leaves no measured program behind.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::raw::{c_char, c_int, c_long, c_short};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

// suseconds_t: 32 bits on macOS (the struct is padded to 16 bytes either way).
#[cfg(target_os = "macos")]
type Usec = i32;
#[cfg(not(target_os = "macos"))]
type Usec = c_long;

#[repr(C)]
#[derive(Clone, Copy)]
struct Timeval {
    tv_sec: c_long,
    tv_usec: Usec,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Rusage {
    ru_utime: Timeval,
    ru_stime: Timeval,
    ru_maxrss: c_long,
    rest: [c_long; 13],
}

#[repr(C)]
struct Timespec {
    tv_sec: c_long,
    tv_nsec: c_long,
}

// posix_spawn_file_actions_t and posix_spawnattr_t are opaque and their size differs by libc
// (glibc: 80 and 336 bytes; macOS: a pointer): room for any of them, initialised by libc.
#[repr(C, align(16))]
struct Opaque([u8; 1024]);

const O_RDONLY: c_int = 0;
const O_WRONLY: c_int = 1;
const POSIX_SPAWN_SETPGROUP: c_short = 2; // glibc, musl and macOS alike

extern "C" {
    fn posix_spawnp(
        pid: *mut c_int,
        file: *const c_char,
        actions: *const Opaque,
        attr: *const Opaque,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> c_int;
    fn posix_spawn_file_actions_init(actions: *mut Opaque) -> c_int;
    fn posix_spawn_file_actions_addopen(
        actions: *mut Opaque,
        fd: c_int,
        path: *const c_char,
        flags: c_int,
        mode: u32,
    ) -> c_int;
    fn posix_spawnattr_init(attr: *mut Opaque) -> c_int;
    fn posix_spawnattr_setflags(attr: *mut Opaque, flags: c_short) -> c_int;
    fn posix_spawnattr_setpgroup(attr: *mut Opaque, pgroup: c_int) -> c_int;
    fn fork() -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    fn wait4(pid: c_int, status: *mut c_int, options: c_int, rusage: *mut Rusage) -> c_int;
    fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    fn dup2(old: c_int, new: c_int) -> c_int;
    fn _exit(code: c_int) -> !;
    fn setpgid(pid: c_int, pgid: c_int) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn signal(sig: c_int, handler: extern "C" fn(c_int)) -> usize;
}

#[cfg(target_os = "macos")]
fn environment() -> *const *const c_char {
    extern "C" {
        fn _NSGetEnviron() -> *const *const *const c_char;
    }
    unsafe { *_NSGetEnviron() }
}

#[cfg(not(target_os = "macos"))]
fn environment() -> *const *const c_char {
    extern "C" {
        static environ: *const *const c_char;
    }
    unsafe { environ }
}

const SIGHUP: c_int = 1;
const SIGINT: c_int = 2;
const SIGKILL: c_int = 9;
const SIGTERM: c_int = 15;

// Process groups of the runs in flight, for the signal handler (atomics: async-signal-safe).
const SLOTS: usize = 1024;
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: AtomicI32 = AtomicI32::new(0);
static IN_FLIGHT: [AtomicI32; SLOTS] = [EMPTY; SLOTS];

fn track(pid: c_int) {
    for slot in IN_FLIGHT.iter() {
        if slot.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return;
        }
    }
}

fn untrack(pid: c_int) {
    for slot in IN_FLIGHT.iter() {
        if slot.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return;
        }
    }
}

extern "C" fn on_signal(sig: c_int) {
    for slot in IN_FLIGHT.iter() {
        let pid = slot.load(Ordering::SeqCst);
        if pid > 0 {
            unsafe {
                kill(-pid, SIGKILL);
            }
        }
    }
    unsafe { _exit(128 + sig) }
}

// Deadlines of the runs in flight; the watchdog kills a run's process group at its deadline.
struct Watch {
    deadlines: Vec<(c_int, u128)>,
    timed_out: Vec<c_int>,
    // The deadline the watchdog sleeps until (None: it waits for a first deadline).
    sleeping_until: Option<u128>,
}

fn watchdog(shared: Arc<(Mutex<Watch>, Condvar)>) {
    let (lock, cvar) = &*shared;
    let mut watch = lock.lock().unwrap();
    loop {
        let now = now_ns();
        let mut i = 0;
        while i < watch.deadlines.len() {
            let (pid, deadline) = watch.deadlines[i];
            if deadline <= now {
                unsafe {
                    kill(-pid, SIGKILL);
                }
                watch.timed_out.push(pid);
                watch.deadlines.swap_remove(i);
            } else {
                i += 1;
            }
        }
        // Sleep until the earliest deadline, or until the next one if none is left: waking at a
        // deadline whose run has ended is one spurious wake-up per timeout period, not per run.
        let next = watch.deadlines.iter().map(|d| d.1).min();
        watch.sleeping_until = next;
        watch = match next {
            None => cvar.wait(watch).unwrap(),
            Some(next) => {
                let wait = Duration::from_nanos((next - now) as u64);
                cvar.wait_timeout(watch, wait).unwrap().0
            }
        };
    }
}

#[cfg(target_os = "macos")]
const CLOCK_MONOTONIC: c_int = 6;
#[cfg(not(target_os = "macos"))]
const CLOCK_MONOTONIC: c_int = 1;

// ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
#[cfg(target_os = "macos")]
const MAXRSS_TO_KIB: c_long = 1024;
#[cfg(not(target_os = "macos"))]
const MAXRSS_TO_KIB: c_long = 1;

fn now_ns() -> u128 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe {
        clock_gettime(CLOCK_MONOTONIC, &mut ts);
    }
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

struct Command {
    stdin: String,
    argv: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    // posix_spawn's set-up, made once per command: the child opens stdin itself (a fresh open file
    // description per run) and /dev/null as stdout, and leads a new process group.
    actions: Box<Opaque>,
    attr: Box<Opaque>,
    _paths: (CString, CString),
}

fn spawn_setup(stdin: &str) -> (Box<Opaque>, Box<Opaque>, (CString, CString)) {
    let stdin_c = CString::new(stdin).unwrap_or_else(|_| fail("NUL in stdin path"));
    let null_c = CString::new("/dev/null").unwrap();
    let mut actions = Box::new(Opaque([0; 1024]));
    let mut attr = Box::new(Opaque([0; 1024]));
    let ok = unsafe {
        posix_spawn_file_actions_init(&mut *actions) == 0
            && posix_spawn_file_actions_addopen(&mut *actions, 0, stdin_c.as_ptr(), O_RDONLY, 0)
                == 0
            && posix_spawn_file_actions_addopen(&mut *actions, 1, null_c.as_ptr(), O_WRONLY, 0)
                == 0
            && posix_spawnattr_init(&mut *attr) == 0
            && posix_spawnattr_setflags(&mut *attr, POSIX_SPAWN_SETPGROUP) == 0
            && posix_spawnattr_setpgroup(&mut *attr, 0) == 0
    };
    if !ok {
        fail("posix_spawn set-up failed");
    }
    (actions, attr, (stdin_c, null_c))
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Timed,
    Warmup,
    Memory,
}

struct InFlight {
    pid: c_int,
    seq: usize,
    cmd: usize,
    kind: Kind,
    started: u128,
}

fn fail(msg: &str) -> ! {
    eprintln!("launcher: {}", msg);
    std::process::exit(2);
}

struct Spec {
    jobs: usize,
    timeout_ns: u128,
    commands: Vec<Command>,
    runs: Vec<(usize, Kind)>,
    prepare: Vec<Option<usize>>, // by command index: the command run before each of its runs
}

fn parse(path: &str) -> Spec {
    let file = File::open(path).unwrap_or_else(|e| fail(&format!("{}: {}", path, e)));
    let mut jobs = 1usize;
    let mut timeout_ns = 0u128;
    let mut commands = Vec::new();
    let mut runs = Vec::new();
    let mut prepare: Vec<Option<usize>> = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.unwrap_or_else(|e| fail(&format!("{}: {}", path, e)));
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[0] {
            "jobs" if fields.len() == 2 => {
                jobs = fields[1].parse().unwrap_or_else(|_| fail("bad jobs"));
                if jobs == 0 || jobs > SLOTS {
                    fail("jobs must be between 1 and 1024");
                }
            }
            "timeout" if fields.len() == 2 => {
                let ms: u128 = fields[1].parse().unwrap_or_else(|_| fail("bad timeout"));
                timeout_ns = ms * 1_000_000;
            }
            "cmd" if fields.len() >= 3 => {
                let stdin_path = if fields[1] == "-" { "/dev/null" } else { fields[1] };
                let stdin = stdin_path.to_string();
                File::open(&stdin).unwrap_or_else(|e| fail(&format!("stdin {}: {}", stdin, e)));
                let argv: Vec<CString> = fields[2..]
                    .iter()
                    .map(|a| CString::new(*a).unwrap_or_else(|_| fail("NUL in argument")))
                    .collect();
                let mut argv_ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
                argv_ptrs.push(std::ptr::null());
                let (actions, attr, _paths) = spawn_setup(&stdin);
                commands.push(Command { stdin, argv, argv_ptrs, actions, attr, _paths });
            }
            "run" if fields.len() == 3 => {
                let cmd: usize = fields[1].parse().unwrap_or_else(|_| fail("bad run index"));
                if cmd >= commands.len() {
                    fail("run refers to an undefined cmd");
                }
                let kind = match fields[2] {
                    "m" => Kind::Timed,
                    "w" => Kind::Warmup,
                    "r" => Kind::Memory,
                    _ => fail("run flag must be m, w or r"),
                };
                runs.push((cmd, kind));
            }
            "prepare" if fields.len() == 3 => {
                let cmd: usize = fields[1].parse().unwrap_or_else(|_| fail("bad prepare index"));
                let prep: usize = fields[2].parse().unwrap_or_else(|_| fail("bad prepare index"));
                if cmd >= commands.len() || prep >= commands.len() {
                    fail("prepare refers to an undefined cmd");
                }
                if prepare.len() <= cmd {
                    prepare.resize(cmd + 1, None);
                }
                prepare[cmd] = Some(prep);
            }
            "" => {}
            _ => fail(&format!("bad spec line: {:?}", line)),
        }
    }
    prepare.resize(commands.len(), None);
    Spec { jobs, timeout_ns, commands, runs, prepare }
}

type Shared = Arc<(Mutex<Watch>, Condvar)>;

// Start `command` with posix_spawn (stdin from its file, stdout to /dev/null, its own process
// group); None when it cannot be started (what exec failing would report as status 127).
fn spawn(command: &Command) -> Option<c_int> {
    let mut pid: c_int = 0;
    let rc = unsafe {
        posix_spawnp(
            &mut pid,
            command.argv[0].as_ptr(),
            &*command.actions,
            &*command.attr,
            command.argv_ptrs.as_ptr(),
            environment(),
        )
    };
    if rc == 0 {
        Some(pid)
    } else {
        None
    }
}

// Give a started run its deadline; the watchdog is woken only when it is the earliest.
fn watch_run(shared: &Shared, pid: c_int, deadline: u128) {
    let (lock, cvar) = &**shared;
    let mut watch = lock.lock().unwrap();
    watch.deadlines.push((pid, deadline));
    if watch.sleeping_until.map_or(true, |until| deadline < until) {
        cvar.notify_one();
    }
}

// Forget an ended run's deadline; true when the watchdog killed it at that deadline.
fn unwatch_run(shared: &Shared, pid: c_int) -> bool {
    let (lock, _) = &**shared;
    let mut watch = lock.lock().unwrap();
    watch.deadlines.retain(|d| d.0 != pid);
    match watch.timed_out.iter().position(|p| *p == pid) {
        Some(i) => {
            watch.timed_out.swap_remove(i);
            true
        }
        None => false,
    }
}

// The status a run reports: its exit code, 128+N when killed by signal N, -1 at its timeout.
fn exit_code(status: c_int, timed_out: bool) -> c_int {
    if timed_out {
        -1
    } else if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    }
}

fn no_usage() -> Rusage {
    Rusage {
        ru_utime: Timeval { tv_sec: 0, tv_usec: 0 },
        ru_stime: Timeval { tv_sec: 0, tv_usec: 0 },
        ru_maxrss: 0,
        rest: [0; 13],
    }
}

// Run `command` to its end outside any measured interval (a `prepare` command), killed at the
// run timeout like a run. Returns its status as the measured runs report theirs.
fn run_untimed(command: &Command, shared: &Shared, timeout_ns: u128) -> c_int {
    let pid = match spawn(command) {
        Some(pid) => pid,
        None => return 127,
    };
    track(pid);
    if timeout_ns > 0 {
        watch_run(shared, pid, now_ns() + timeout_ns);
    }
    let mut status: c_int = 0;
    let mut usage = no_usage();
    if unsafe { wait4(pid, &mut status, 0, &mut usage) } != pid {
        fail("wait4 failed");
    }
    untrack(pid);
    let timed_out = timeout_ns > 0 && unwatch_run(shared, pid);
    exit_code(status, timed_out)
}

// A peak-memory run: fork (the child gets its own copy of this small process, not a share of
// it) and exec. Only async-signal-safe calls in the child between fork and exec.
fn fork_run(command: &Command) -> c_int {
    let stdin = File::open(&command.stdin)
        .unwrap_or_else(|e| fail(&format!("stdin {}: {}", command.stdin, e)));
    let devnull = File::create("/dev/null").unwrap_or_else(|e| fail(&format!("/dev/null: {}", e)));
    let pid = unsafe { fork() };
    if pid < 0 {
        fail("fork failed");
    }
    if pid == 0 {
        unsafe {
            setpgid(0, 0);
            dup2(stdin.as_raw_fd(), 0);
            dup2(devnull.as_raw_fd(), 1);
            execvp(command.argv[0].as_ptr(), command.argv_ptrs.as_ptr());
            _exit(127);
        }
    }
    unsafe {
        setpgid(pid, pid); // also here: no window in which a kill misses the group
    }
    pid
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        fail("usage: launcher SPEC");
    }
    let Spec { jobs, timeout_ns, commands, runs, prepare } = parse(&args[1]);
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        unsafe {
            signal(sig, on_signal);
        }
    }
    let watch = Watch { deadlines: Vec::new(), timed_out: Vec::new(), sleeping_until: None };
    let shared = Arc::new((Mutex::new(watch), Condvar::new()));
    if timeout_ns > 0 {
        let for_thread = Arc::clone(&shared);
        std::thread::spawn(move || watchdog(for_thread));
    }
    // Records are buffered and written in large chunks (and at the end): a reader woken up after
    // every run would compete with the measured runs for the CPU.
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());

    let mut in_flight: Vec<InFlight> = Vec::new();
    let mut next = 0usize;
    let mut failed = false;
    let t0 = now_ns();
    while (next < runs.len() && !failed) || !in_flight.is_empty() {
        while !failed && next < runs.len() && in_flight.len() < jobs {
            let (cmd, kind) = runs[next];
            if let Some(prep) = prepare[cmd] {
                let code = run_untimed(&commands[prep], &shared, timeout_ns);
                if code != 0 {
                    let _ = writeln!(out, "{}\t{}\t0\t0\t0\t0\t{}", next, prep, code);
                    failed = true;
                    break;
                }
            }
            let command = &commands[cmd];
            let started = now_ns();
            let pid = if kind == Kind::Memory {
                fork_run(command)
            } else {
                match spawn(command) {
                    Some(pid) => pid,
                    None => {
                        let _ = writeln!(out, "{}\t{}\t0\t0\t0\t0\t127", next, cmd);
                        failed = true;
                        break;
                    }
                }
            };
            track(pid);
            if timeout_ns > 0 {
                watch_run(&shared, pid, started + timeout_ns);
            }
            in_flight.push(InFlight { pid, seq: next, cmd, kind, started });
            next += 1;
        }
        if in_flight.is_empty() {
            continue; // a run or prepare that failed to start or failed, nothing left to wait for
        }
        let mut status: c_int = 0;
        let mut usage = no_usage();
        let pid = unsafe { wait4(-1, &mut status, 0, &mut usage) };
        let ended = now_ns();
        if pid < 0 {
            fail("wait4 failed");
        }
        let index = match in_flight.iter().position(|r| r.pid == pid) {
            Some(i) => i,
            None => continue,
        };
        let run = in_flight.swap_remove(index);
        untrack(pid);
        let code = exit_code(status, timeout_ns > 0 && unwatch_run(&shared, pid));
        if run.kind != Kind::Warmup || code != 0 {
            let user = usage.ru_utime.tv_sec as i64 * 1_000_000 + usage.ru_utime.tv_usec as i64;
            let sys = usage.ru_stime.tv_sec as i64 * 1_000_000 + usage.ru_stime.tv_usec as i64;
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                run.seq,
                run.cmd,
                ended - run.started,
                user,
                sys,
                usage.ru_maxrss / MAXRSS_TO_KIB,
                code
            );
        }
        if code != 0 {
            failed = true;
        }
    }
    let _ = writeln!(out, "total\t{}", now_ns() - t0);
    let _ = out.flush();
    if failed {
        std::process::exit(3);
    }
}
