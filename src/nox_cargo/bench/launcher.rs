// nox-cargo bench launcher: spawns measured runs from a process that is a few hundred KiB big.
//
// A child forked from Python inherits Python's peak-RSS high-water mark at exec, so a 1 MB binary
// reads as ~14 MB. This launcher forks (no vfork: the child must get its own, small mm) and execs
// each run itself, timing it with CLOCK_MONOTONIC from just before fork to just after wait4, and
// reports the child's own rusage (user/sys CPU, ru_maxrss) from wait4.
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
//                                measured (reported), `w` = warm-up (run, checked, not reported)
//   prepare\tCMD\tPREP           before every run of CMD (warm-up or measured), run command PREP
//                                to its end, untimed: outside the run's wall clock, which starts
//                                after it. A PREP that does not exit 0 fails like a run (its line
//                                has cmd = PREP and zero times).
// Output, one TAB-separated line per measured run, in completion order:
//   seq  cmd  wall_ns  user_us  sys_us  maxrss_kib  status
// where status is the exit code, or 128+N for a child killed by signal N, or -1 for a run killed
// at its timeout; then one line
//   total  wall_ns_of_all_runs_including_warmups
// A run that does not exit 0 stops the launcher after its line is printed: exit status 3.
//
// Each run is the leader of its own process group, so a timeout kills what the run started too.
// A watchdog thread sleeps until the earliest deadline (it is not woken per run). SIGINT, SIGTERM
// and SIGHUP kill the process groups of the runs in flight before the launcher exits, so an
// interrupted bench leaves no measured program behind.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::raw::{c_char, c_int, c_long};
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

extern "C" {
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
        watch = match watch.deadlines.iter().map(|d| d.1).min() {
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
}

struct InFlight {
    pid: c_int,
    seq: usize,
    cmd: usize,
    measured: bool,
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
    runs: Vec<(usize, bool)>,
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
                commands.push(Command { stdin, argv, argv_ptrs });
            }
            "run" if fields.len() == 3 => {
                let cmd: usize = fields[1].parse().unwrap_or_else(|_| fail("bad run index"));
                if cmd >= commands.len() {
                    fail("run refers to an undefined cmd");
                }
                runs.push((cmd, fields[2] == "m"));
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

// Run `command` to its end outside any measured interval (a `prepare` command): its own process
// group, stdin from its file, stdout to /dev/null, stderr inherited, killed at the run timeout.
// Returns its status as the measured runs report theirs.
fn run_untimed(
    command: &Command,
    out_fd: c_int,
    shared: &Arc<(Mutex<Watch>, Condvar)>,
    timeout_ns: u128,
) -> c_int {
    let stdin = File::open(&command.stdin)
        .unwrap_or_else(|e| fail(&format!("stdin {}: {}", command.stdin, e)));
    let in_fd = stdin.as_raw_fd();
    let pid = unsafe { fork() };
    if pid < 0 {
        fail("fork failed");
    }
    if pid == 0 {
        unsafe {
            setpgid(0, 0);
            dup2(in_fd, 0);
            dup2(out_fd, 1);
            execvp(command.argv[0].as_ptr(), command.argv_ptrs.as_ptr());
            _exit(127);
        }
    }
    unsafe {
        setpgid(pid, pid);
    }
    track(pid);
    if timeout_ns > 0 {
        let (lock, cvar) = &**shared;
        let mut watch = lock.lock().unwrap();
        watch.deadlines.push((pid, now_ns() + timeout_ns));
        cvar.notify_one();
    }
    drop(stdin);
    let mut status: c_int = 0;
    let mut usage = Rusage {
        ru_utime: Timeval { tv_sec: 0, tv_usec: 0 },
        ru_stime: Timeval { tv_sec: 0, tv_usec: 0 },
        ru_maxrss: 0,
        rest: [0; 13],
    };
    if unsafe { wait4(pid, &mut status, 0, &mut usage) } != pid {
        fail("wait4 failed");
    }
    untrack(pid);
    let mut timed_out = false;
    if timeout_ns > 0 {
        let (lock, _) = &**shared;
        let mut watch = lock.lock().unwrap();
        watch.deadlines.retain(|d| d.0 != pid);
        if let Some(i) = watch.timed_out.iter().position(|p| *p == pid) {
            watch.timed_out.swap_remove(i);
            timed_out = true;
        }
    }
    if timed_out {
        -1
    } else if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    }
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
    let watch = Watch { deadlines: Vec::new(), timed_out: Vec::new() };
    let shared = Arc::new((Mutex::new(watch), Condvar::new()));
    if timeout_ns > 0 {
        let for_thread = Arc::clone(&shared);
        std::thread::spawn(move || watchdog(for_thread));
    }
    let devnull = File::create("/dev/null").unwrap_or_else(|e| fail(&format!("/dev/null: {}", e)));
    let out_fd = devnull.as_raw_fd();
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
            let (cmd, measured) = runs[next];
            if let Some(prep) = prepare[cmd] {
                let code = run_untimed(&commands[prep], out_fd, &shared, timeout_ns);
                if code != 0 {
                    let _ = writeln!(out, "{}\t{}\t0\t0\t0\t0\t{}", next, prep, code);
                    failed = true;
                    break;
                }
            }
            let command = &commands[cmd];
            // A fresh open file description per run: each run reads its stdin from the start,
            // and concurrent runs do not share an offset.
            let stdin = File::open(&command.stdin)
                .unwrap_or_else(|e| fail(&format!("stdin {}: {}", command.stdin, e)));
            let in_fd = stdin.as_raw_fd();
            let argv = command.argv_ptrs.as_ptr();
            let file = command.argv[0].as_ptr();
            let started = now_ns();
            let pid = unsafe { fork() };
            if pid < 0 {
                fail("fork failed");
            }
            if pid == 0 {
                // Child: only async-signal-safe calls from here to exec.
                unsafe {
                    setpgid(0, 0);
                    dup2(in_fd, 0);
                    dup2(out_fd, 1);
                    execvp(file, argv);
                    _exit(127);
                }
            }
            unsafe {
                setpgid(pid, pid); // also here: no window in which a kill misses the group
            }
            track(pid);
            if timeout_ns > 0 {
                let (lock, cvar) = &*shared;
                let mut watch = lock.lock().unwrap();
                watch.deadlines.push((pid, started + timeout_ns));
                if watch.deadlines.len() == 1 {
                    cvar.notify_one();
                }
            }
            drop(stdin);
            in_flight.push(InFlight { pid, seq: next, cmd, measured, started });
            next += 1;
        }
        if in_flight.is_empty() {
            continue; // a failed prepare left nothing to wait for
        }
        let mut status: c_int = 0;
        let mut usage = Rusage {
            ru_utime: Timeval { tv_sec: 0, tv_usec: 0 },
            ru_stime: Timeval { tv_sec: 0, tv_usec: 0 },
            ru_maxrss: 0,
            rest: [0; 13],
        };
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
        let mut timed_out = false;
        if timeout_ns > 0 {
            let (lock, _) = &*shared;
            let mut watch = lock.lock().unwrap();
            watch.deadlines.retain(|d| d.0 != pid);
            if let Some(i) = watch.timed_out.iter().position(|p| *p == pid) {
                watch.timed_out.swap_remove(i);
                timed_out = true;
            }
        }
        let code = if timed_out {
            -1
        } else if status & 0x7f == 0 {
            (status >> 8) & 0xff
        } else {
            128 + (status & 0x7f)
        };
        if run.measured || code != 0 {
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
