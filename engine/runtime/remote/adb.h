// The desktop's side of the tethered phone's adb flow: running adb safely (an argv, a timeout, no
// zombie), finding phones with `adb devices -l`, and a session that pushes the agent, forwards a
// random abstract socket and starts the agent with `adb shell`. The protocol is protocol.h's.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/ir/result.h"

namespace prunelab::engine::remote {

// ---- Running a program ----------------------------------------------------------------------

struct ProcessOptions {
    double timeoutSeconds = 30;        // then its process group is killed (SIGKILL) and reaped
    size_t maxOutputBytes = 1u << 20;  // per stream; the rest is read and dropped (`truncated`)
};

struct ProcessResult {
    pid_t pid = -1;          // already reaped when the result is returned
    int exitCode = -1;       // its exit status, -1 when a signal ended it
    int signal = 0;          // the signal that ended it, 0 when it exited
    bool timedOut = false;   // we killed it after ProcessOptions::timeoutSeconds
    bool truncated = false;  // an output went over ProcessOptions::maxOutputBytes
    std::string out;
    std::string err;

    bool succeeded() const { return !timedOut && signal == 0 && exitCode == 0; }
    // "exit status 1", "killed by signal 9", "stopped after 30 s"
    std::string endedHow() const;
};

// Runs argv[0] (a path, or a name looked up in PATH) with these arguments, never through a shell:
// stdin from /dev/null, stdout and stderr captured apart, in its own process group (so a timeout
// kills what it started too). Returns once it has ended and been reaped. The only errors: an
// empty argv, or a program that cannot start (naming it and the system's reason). Thread-safe.
Result<ProcessResult> runProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {});

// A child that keeps running (the agent's `adb shell`): its own process group, stdout and stderr
// read by a background thread into one buffer (the last 64 KiB kept). stop() signals the group
// SIGTERM, then SIGKILL after the grace, and reaps it; the destructor stops it. Not thread-safe
// apart from output(), which any thread may call.
class ChildProcess {
  public:
    // `input` is written to its stdin, which is then closed (a secret that must stay out of argv).
    static Result<std::unique_ptr<ChildProcess>> start(const std::vector<std::string>& argv,
                                                       const std::string& input = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return m_pid; }
    // False once it has ended (it is then reaped, and endedHow() says how).
    bool running();
    std::string endedHow() const;
    std::string output() const;
    void stop(double graceSeconds = 2.0);  // idempotent

  private:
    ChildProcess(pid_t pid, int fd);
    void readLoop();
    void finishOutput();  // once it has ended: the reader thread's last read, then join
    void noteStatus(int status);

    pid_t m_pid = -1;
    int m_fd = -1;
    bool m_reaped = false;
    int m_exitCode = -1;
    int m_signal = 0;
    std::atomic<bool> m_stopReading{false};
    std::atomic<bool> m_readerDone{false};
    mutable std::mutex m_outputMutex;
    std::string m_output;
    std::thread m_reader;
};

// ---- Finding adb and phones -----------------------------------------------------------------

// Where the agent lives on the phone: /data/local/tmp is the one folder `adb shell` may write
// and execute from without root.
inline constexpr std::string_view kAgentPathOnPhone = "/data/local/tmp/prunelab-agent";

struct AdbTool {
    std::string path;                 // an executable file
    double timeoutSeconds = 30;       // for each quick command (devices, shell chmod, forward)
    double pushTimeoutSeconds = 120;  // for the push of the agent (megabytes over USB 2)
};

// PRUNELAB_ADB when set (tests point it at a fake; it must name an executable file, else
// InvalidArgument naming the variable), else `adb` in PATH; NotFound "adb is not installed: run
// ./prunelab setup" when there is none.
Result<AdbTool> findAdb();

enum class PhoneState {
    Ready,          // "device": adb can push and run
    Unauthorized,   // "unauthorized" / "authorizing": the phone has not accepted this computer
    Offline,        // "offline" / "connecting": the link is not up
    NoPermissions,  // "no permissions ...": this user may not open the USB device
    OtherMode,      // bootloader, recovery, sideload, rescue, host: not running Android
    Unknown,        // "unknown" or a word this PruneLab does not know
};

struct Phone {
    std::string serial;  // what `adb -s` takes; empty when adb printed "(no serial number)"
    PhoneState state = PhoneState::Unknown;
    std::string stateText;  // adb's own words ("no permissions (...); see [...]")
    std::string usb;        // the USB path ("1-4"), empty for TCP and emulators
    std::string product;
    std::string model;  // adb writes '_' for any non-alphanumeric ("Pixel_7")
    std::string device;
    int64_t transportId = -1;  // -1 when adb printed none (older adb, or `adb devices` without -l)

    // "Pixel 7" (the model, underscores as spaces), else the product, else the serial.
    std::string title() const;
};

struct PhoneList {
    std::vector<Phone> phones;
    // Non-empty lines that are neither a phone, adb's header nor its "* daemon ..." notes (an
    // error adb printed, or garbage): at most 16, each cut to 200 characters, for messages.
    std::vector<std::string> ignored;
};

// Parses the stdout of `adb devices -l` (or `adb devices`). Lines that are not a phone are skipped
// (see PhoneList::ignored), so content never fails; text over 1 MiB or over 512 phones is
// OutOfRange.
Result<PhoneList> parseAdbDevices(std::string_view text);

// What a person does so that the phone becomes Ready ("accept the USB debugging prompt on the
// phone"); empty for a Ready phone.
std::string phoneAdvice(const Phone& phone);

// The listing `prunelab-cli phones` prints: one line per phone (serial, title, state, and what to
// do or the --backend that picks it), or the no-phone message.
std::string formatPhones(const PhoneList& list);

// Runs `adb devices -l` (which starts adb's server when none runs) and parses it. An adb that
// fails or hangs is an error with adb's own words.
Result<PhoneList> listPhones(const AdbTool& adb);

// The phone a session uses. `serial` given: that phone, which must be Ready. None: the only phone
// adb sees. Errors a person can act on: no phone ("no phone is connected: plug one in with USB
// debugging on (Settings > Developer options)"), several and no serial (lists them, "pick one
// with --backend phone:SERIAL"), an unknown serial, a phone that is not Ready (with its advice).
Result<Phone> choosePhone(const PhoneList& list, std::string_view serial);

// `bytes` random bytes from the kernel (getrandom) as lowercase hex: socket names and tokens.
Result<std::string> randomHex(size_t bytes);

// ---- The agent's session ----------------------------------------------------------------------

// Starts the agent on one phone and keeps it running:
//   adb -s SERIAL push AGENT /data/local/tmp/prunelab-agent
//   adb -s SERIAL shell chmod 755 /data/local/tmp/prunelab-agent
//   adb -s SERIAL forward --no-rebind localabstract:NAME localabstract:NAME
//   adb -s SERIAL shell /data/local/tmp/prunelab-agent --socket NAME --threads N --token -
//   (kept running; TOKEN and a newline on its stdin, which `adb shell` carries to the agent's)
// The desktop then connects to the local abstract socket NAME: adb carries it over USB, so no TCP
// port opens on the phone's network. The abstract namespace has no file permissions (any local
// user may connect), which is why the agent also wants the token. NAME is hex, so the phone's
// shell, which re-parses `adb shell`'s words, sees it verbatim. The token travels on stdin, never
// in an argv that any process of either machine may read in /proc.
// stop() (and the destructor) kills the `adb shell` child and removes the forward; the desktop
// says BYE first through the protocol, which this file does not speak.
class AgentSession {
  public:
    // Each failing step is an error naming it with adb's own words (a failed push names the file);
    // a step that fails after the forward removes it again.
    // `threads`: the agent's --threads (0: one per core of the phone). `agentId` (lowercase hex,
    // a hash of the agent's file): the agent lives at kAgentPathOnPhone-ID and is pushed only
    // when `adb shell test -x` does not find it there; empty: pushed to kAgentPathOnPhone.
    static Result<std::unique_ptr<AgentSession>> start(const AdbTool& adb,
                                                       const std::string& serial,
                                                       const std::string& agentBinary,
                                                       int threads = 0,
                                                       const std::string& agentId = {});
    ~AgentSession();
    AgentSession(const AgentSession&) = delete;
    AgentSession& operator=(const AgentSession&) = delete;

    const std::string& serial() const { return m_serial; }
    const std::string& socketName() const { return m_socketName; }  // without the leading NUL
    const std::string& token() const { return m_token; }            // 64 hex digits

    // Ok while the agent's `adb shell` runs; once it ended, an error with how and what it printed.
    Status alive();
    // Kills the agent's `adb shell` (SIGTERM, then SIGKILL after the grace) and removes the
    // forward. Idempotent; an error when adb refused the removal.
    Status stop(double graceSeconds = 2.0);

  private:
    AgentSession() = default;

    AdbTool m_adb;
    std::string m_serial;
    std::string m_socketName;
    std::string m_token;
    std::unique_ptr<ChildProcess> m_agent;
    bool m_forwarded = false;
};

}  // namespace prunelab::engine::remote
