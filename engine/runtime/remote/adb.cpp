// adb from the desktop (see adb.h). Sections: running a program; parsing `adb devices -l`;
// choosing a phone; the agent's session.
#include "engine/runtime/remote/adb.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace prunelab::engine::remote {

namespace {

using Clock = std::chrono::steady_clock;

std::string errnoText(int err) {
    return std::strerror(err);
}

std::string joinArgv(const std::vector<std::string>& argv) {
    std::string s;
    for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
    return s;
}

// A pipe whose ends close on exec; posix_spawn's dup2 gives the child its own copies.
Result<std::pair<int, int>> makePipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return makeError(ErrorCode::Io, "cannot create a pipe: " + errnoText(errno));
    return std::pair<int, int>{fds[0], fds[1]};
}

// Spawns argv with stdin from /dev/null, stdout to outFd and stderr to errFd, in a new process
// group, with the signals a parent may ignore (SIGPIPE, ...) back to their defaults.
// inFd -1: stdin from /dev/null.
Result<pid_t> spawn(const std::vector<std::string>& argv, int outFd, int errFd, int inFd = -1) {
    if (argv.empty() || argv[0].empty())
        return makeError(ErrorCode::InvalidArgument, "no program to run");
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    if (inFd >= 0) {
        posix_spawn_file_actions_adddup2(&actions, inFd, 0);
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, outFd, 1);
    posix_spawn_file_actions_adddup2(&actions, errFd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Nothing else of ours (model files, the agent's socket) leaks into adb.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    sigset_t defaults, none;
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2})
        sigaddset(&defaults, sig);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        return makeError(rc == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
                         "cannot run '" + argv[0] + "': " + errnoText(rc));
    }
    return pid;
}

// Reads what is there now without blocking. False at end of file or on an error.
bool drain(int fd, std::string& into, size_t cap, bool& truncated) {
    char buffer[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            const size_t room = into.size() < cap ? cap - into.size() : 0;
            const size_t take = std::min(room, static_cast<size_t>(n));
            into.append(buffer, take);
            if (take < static_cast<size_t>(n)) truncated = true;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        return false;
    }
}

void setNonBlocking(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

pid_t waitNoHang(pid_t pid, int& status) {
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r < 0 && errno == EINTR) continue;
        return r;
    }
}

// True once the child has ended, without reaping it (it stays a zombie, holding its id).
bool hasExited(pid_t pid) {
    siginfo_t info{};
    for (;;) {
        const int r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
        if (r < 0 && errno == EINTR) continue;
        return r < 0 || info.si_pid == pid;
    }
}

void waitBlocking(pid_t pid, int& status) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

std::string secondsText(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", s);
    return buf;
}

}  // namespace

std::string ProcessResult::endedHow() const {
    if (timedOut) return "did not finish in time and was stopped";
    if (signal != 0) return "killed by signal " + std::to_string(signal);
    return "exit status " + std::to_string(exitCode);
}

Result<ProcessResult> runProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options) {
    PL_TRY_ASSIGN(auto outPipe, makePipe());
    auto errPipe = makePipe();
    if (!errPipe.ok()) {
        ::close(outPipe.first);
        ::close(outPipe.second);
        return errPipe.error();
    }
    auto pid = spawn(argv, outPipe.second, errPipe->second);
    ::close(outPipe.second);
    ::close(errPipe->second);
    if (!pid.ok()) {
        ::close(outPipe.first);
        ::close(errPipe->first);
        return pid.error();
    }
    ProcessResult r;
    r.pid = *pid;
    int fds[2] = {outPipe.first, errPipe->first};
    std::string* sinks[2] = {&r.out, &r.err};
    for (int fd : fds) setNonBlocking(fd);
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(std::max(0.0, options.timeoutSeconds)));
    int status = 0;
    bool exited = false;
    while (!exited) {
        // Waits for output in short ticks and checks for the child's end between them: a
        // grandchild (adb's server) may keep a pipe open after adb itself is done.
        pollfd pfds[2];
        nfds_t n = 0;
        int which[2];
        for (int i = 0; i < 2; ++i) {
            if (fds[i] < 0) continue;
            pfds[n] = {fds[i], POLLIN, 0};
            which[n++] = i;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        const int tick = static_cast<int>(std::clamp<long long>(left, 0, 25));
        if (::poll(pfds, n, tick) < 0 && errno != EINTR) {
            // Cannot wait for it any more: stop it rather than leave it running unreaped.
            ::kill(-r.pid, SIGKILL);
            waitBlocking(r.pid, status);
            exited = true;
            continue;
        }
        for (nfds_t i = 0; i < n; ++i) {
            if (pfds[i].revents == 0) continue;
            const int k = which[i];
            if (!drain(fds[k], *sinks[k], options.maxOutputBytes, r.truncated)) {
                ::close(fds[k]);
                fds[k] = -1;
            }
        }
        if (waitNoHang(r.pid, status) == r.pid) {
            exited = true;
        } else if (Clock::now() >= deadline) {
            ::kill(-r.pid, SIGKILL);  // the whole group: a fake's `sleep` or an adb it started
            waitBlocking(r.pid, status);
            r.timedOut = true;
            exited = true;
        }
    }
    for (int k = 0; k < 2; ++k) {
        if (fds[k] < 0) continue;
        drain(fds[k], *sinks[k], options.maxOutputBytes, r.truncated);
        ::close(fds[k]);
    }
    if (WIFEXITED(status)) r.exitCode = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    return r;
}

// ---- ChildProcess ---------------------------------------------------------------------------

ChildProcess::ChildProcess(pid_t pid, int fd) : m_pid(pid), m_fd(fd) {
    m_reader = std::thread([this] { readLoop(); });
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::vector<std::string>& argv,
                                                          const std::string& input) {
    PL_TRY_ASSIGN(auto pipe, makePipe());
    auto in = makePipe();
    if (!in.ok()) {
        ::close(pipe.first);
        ::close(pipe.second);
        return in.error();
    }
    auto pid = spawn(argv, pipe.second, pipe.second, in->first);
    ::close(pipe.second);
    ::close(in->first);
    if (!pid.ok()) {
        ::close(pipe.first);
        ::close(in->second);
        return pid.error();
    }
    // A pipe holds 64 KiB, so this short text never blocks. Then end of file: the child reads
    // no more from us.
    size_t written = 0;
    while (written < input.size()) {
        const ssize_t n = ::write(in->second, input.data() + written, input.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the child closed its stdin: it will say why in its output
        written += size_t(n);
    }
    ::close(in->second);
    setNonBlocking(pipe.first);
    return std::unique_ptr<ChildProcess>(new ChildProcess(*pid, pipe.first));
}

ChildProcess::~ChildProcess() {
    stop();
}

void ChildProcess::readLoop() {
    constexpr size_t kKeep = 64 * 1024;
    auto keep = [this](const std::string& chunk) {
        std::lock_guard<std::mutex> lock(m_outputMutex);
        m_output += chunk;
        if (m_output.size() > kKeep) m_output.erase(0, m_output.size() - kKeep);
    };
    std::string chunk;
    bool open = true;
    while (open && !m_stopReading.load()) {
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, 50) < 0 && errno != EINTR) break;
        if (p.revents == 0) continue;
        bool truncated = false;
        chunk.clear();
        open = drain(m_fd, chunk, kKeep, truncated);
        keep(chunk);
    }
    if (open) {  // told to stop: what is already in the pipe still counts
        bool truncated = false;
        chunk.clear();
        drain(m_fd, chunk, kKeep, truncated);
        keep(chunk);
    }
    m_readerDone = true;
}

void ChildProcess::finishOutput() {
    if (!m_reader.joinable()) return;
    // The child has ended: its last words are in the pipe or on their way. A grandchild may keep
    // the pipe open, so wait for the end of the output only a little.
    const auto until = Clock::now() + std::chrono::seconds(1);
    while (!m_readerDone.load() && Clock::now() < until) ::usleep(2'000);
    m_stopReading = true;
    m_reader.join();
    ::close(m_fd);
    m_fd = -1;
}

void ChildProcess::noteStatus(int status) {
    m_reaped = true;
    if (WIFEXITED(status)) m_exitCode = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) m_signal = WTERMSIG(status);
}

bool ChildProcess::running() {
    if (m_reaped) return false;
    int status = 0;
    const pid_t r = waitNoHang(m_pid, status);
    if (r == m_pid) noteStatus(status);
    if (r < 0) m_reaped = true;  // ECHILD: someone else reaped it; nothing is left to wait for
    if (m_reaped) finishOutput();
    return !m_reaped;
}

std::string ChildProcess::endedHow() const {
    if (!m_reaped) return "still running";
    if (m_signal != 0) return "killed by signal " + std::to_string(m_signal);
    return "exit status " + std::to_string(m_exitCode);
}

std::string ChildProcess::output() const {
    std::lock_guard<std::mutex> lock(m_outputMutex);
    return m_output;
}

void ChildProcess::stop(double graceSeconds) {
    if (running()) {
        // Signals go to the group while the leader is unreaped, so its id cannot be reused.
        ::kill(-m_pid, SIGTERM);
        const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(graceSeconds));
        while (!hasExited(m_pid) && Clock::now() < until) ::usleep(10'000);
        // Whatever of the group is left (the leader after the grace, or a child it started
        // that outlived it) goes now, before the leader is reaped.
        ::kill(-m_pid, SIGKILL);
        int status = 0;
        waitBlocking(m_pid, status);
        noteStatus(status);
    }
    finishOutput();
}

// ---- Finding adb ----------------------------------------------------------------------------

namespace {

bool isExecutableFile(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

Result<AdbTool> findAdb() {
    AdbTool tool;
    if (const char* env = std::getenv("PRUNELAB_ADB"); env != nullptr && *env != '\0') {
        if (!isExecutableFile(env)) {
            return makeError(ErrorCode::InvalidArgument,
                             "PRUNELAB_ADB is '" + std::string(env) +
                                 "', which is not an executable file (unset it to use the adb "
                                 "in PATH)");
        }
        tool.path = env;
        return tool;
    }
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        const size_t colon = dirs.find(':');
        const std::string_view dir = dirs.substr(0, colon);
        // An empty PATH entry means the current folder.
        const std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/adb";
        if (isExecutableFile(candidate)) {
            tool.path = candidate;
            return tool;
        }
        if (colon == std::string_view::npos) break;
        dirs.remove_prefix(colon + 1);
    }
    return makeError(ErrorCode::NotFound, "adb is not installed: run ./prunelab setup");
}

// ---- Parsing `adb devices -l` ---------------------------------------------------------------

namespace {

constexpr size_t kMaxDevicesText = 1u << 20;
constexpr size_t kMaxPhones = 512;
constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxIgnored = 16;

bool isSpace(char c) {
    return c == ' ' || c == '\t';
}

// Serials come from USB descriptors and adb's own names: printable, no spaces.
bool isSerialText(std::string_view s) {
    if (s.empty() || s.size() > 256) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7f;
    });
}

std::string_view nextWord(std::string_view& rest) {
    while (!rest.empty() && isSpace(rest.front())) rest.remove_prefix(1);
    size_t end = 0;
    while (end < rest.size() && !isSpace(rest[end])) ++end;
    std::string_view word = rest.substr(0, end);
    rest.remove_prefix(end);
    return word;
}

// The state at the start of `rest` (spaces skipped), consumed; false when it is no adb state.
bool takeState(std::string_view& rest, Phone& phone) {
    while (!rest.empty() && isSpace(rest.front())) rest.remove_prefix(1);
    constexpr std::string_view kNoPerm = "no permissions";
    if (rest.substr(0, kNoPerm.size()) == kNoPerm) {
        // "no permissions (reason); see [URL]": the reason and the link are optional.
        size_t end = kNoPerm.size();
        if (rest.substr(end, 2) == " (") {
            const size_t close = rest.find(')', end);
            if (close != std::string_view::npos) end = close + 1;
        }
        if (rest.substr(end, 7) == "; see [") {
            const size_t close = rest.find(']', end);
            if (close != std::string_view::npos) end = close + 1;
        }
        phone.state = PhoneState::NoPermissions;
        phone.stateText = std::string(rest.substr(0, end));
        rest.remove_prefix(end);
        return true;
    }
    std::string_view save = rest;
    const std::string_view word = nextWord(rest);
    struct Known {
        std::string_view word;
        PhoneState state;
    };
    static constexpr Known kStates[] = {
        {"device", PhoneState::Ready},
        {"unauthorized", PhoneState::Unauthorized},
        {"authorizing", PhoneState::Unauthorized},
        {"offline", PhoneState::Offline},
        {"connecting", PhoneState::Offline},
        {"bootloader", PhoneState::OtherMode},
        {"recovery", PhoneState::OtherMode},
        {"sideload", PhoneState::OtherMode},
        {"rescue", PhoneState::OtherMode},
        {"host", PhoneState::OtherMode},
        {"detached", PhoneState::Offline},
        {"unknown", PhoneState::Unknown},
    };
    for (const Known& k : kStates) {
        if (word == k.word) {
            phone.state = k.state;
            phone.stateText = std::string(word);
            return true;
        }
    }
    rest = save;
    return false;
}

bool parseTransportId(std::string_view s, int64_t& out) {
    if (s.empty() || s.size() > 18) return false;
    int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

// One line of the listing; false when it is not a phone.
bool parsePhoneLine(std::string_view line, Phone& phone) {
    std::string_view rest = line;
    constexpr std::string_view kNoSerial = "(no serial number)";
    if (line.substr(0, kNoSerial.size()) == kNoSerial) {
        rest.remove_prefix(kNoSerial.size());
    } else {
        const std::string_view serial = nextWord(rest);
        // Older adb printed "????????????" for a device it could not open.
        if (!isSerialText(serial) || serial.find_first_not_of('?') == std::string_view::npos)
            return false;
        phone.serial = std::string(serial);
    }
    if (rest.empty() || !isSpace(rest.front())) return false;
    if (!takeState(rest, phone)) return false;
    if (!rest.empty() && !isSpace(rest.front())) return false;  // "devices" is no "device"
    for (std::string_view word = nextWord(rest); !word.empty(); word = nextWord(rest)) {
        const size_t colon = word.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view key = word.substr(0, colon);
        const std::string_view value = word.substr(colon + 1);
        if (key == "usb") phone.usb = std::string(value);
        if (key == "product") phone.product = std::string(value);
        if (key == "model") phone.model = std::string(value);
        if (key == "device") phone.device = std::string(value);
        if (key == "transport_id") parseTransportId(value, phone.transportId);
    }
    return true;
}

std::string printable(std::string_view s, size_t max) {
    std::string out;
    for (char c : s.substr(0, max)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    if (s.size() > max) out += "...";
    return out;
}

}  // namespace

Result<PhoneList> parseAdbDevices(std::string_view text) {
    if (text.size() > kMaxDevicesText) {
        return makeError(ErrorCode::OutOfRange, "`adb devices -l` printed " +
                                                    std::to_string(text.size()) +
                                                    " bytes, more than the 1 MiB PruneLab reads");
    }
    PhoneList list;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        while (!line.empty() && (line.back() == '\r' || isSpace(line.back())))
            line.remove_suffix(1);
        if (line.empty() || line.front() == '*' || line == "List of devices attached") continue;
        Phone phone;
        if (line.size() <= kMaxLine && parsePhoneLine(line, phone)) {
            if (list.phones.size() == kMaxPhones) {
                return makeError(ErrorCode::OutOfRange, "`adb devices -l` listed more than " +
                                                            std::to_string(kMaxPhones) + " phones");
            }
            list.phones.push_back(std::move(phone));
        } else if (list.ignored.size() < kMaxIgnored) {
            list.ignored.push_back(printable(line, 200));
        }
    }
    return list;
}

std::string Phone::title() const {
    if (!model.empty()) {
        std::string t = model;
        std::replace(t.begin(), t.end(), '_', ' ');
        return t;
    }
    if (!product.empty()) return product;
    return serial.empty() ? "a phone with no serial number" : serial;
}

std::string phoneAdvice(const Phone& phone) {
    if (phone.serial.empty() && phone.state == PhoneState::Ready) {
        return "it has no serial number, so adb cannot pick it by one: set one in the phone's "
               "build, or use another phone";
    }
    switch (phone.state) {
        case PhoneState::Ready:
            return {};
        case PhoneState::Unauthorized:
            return "accept the USB debugging prompt on the phone (unlock it; if no prompt shows, "
                   "unplug it and plug it in again)";
        case PhoneState::Offline:
            return "the USB link is not up: unplug the phone and plug it in again (or run `adb "
                   "kill-server` and retry)";
        case PhoneState::NoPermissions:
            return "this user may not open the phone's USB device: install Debian's "
                   "android-sdk-platform-tools-common (its udev rules), join the plugdev group, "
                   "then plug the phone in again";
        case PhoneState::OtherMode:
            return "the phone is in " + phone.stateText + " mode: start Android normally";
        case PhoneState::Unknown:
            break;
    }
    return "adb says '" + phone.stateText + "': unplug the phone and plug it in again";
}

namespace {

const char* kNoPhone =
    "no phone is connected: plug one in with USB debugging on (Settings > Developer options)";

std::string phoneLine(const Phone& p) {
    std::string line = "  " + (p.serial.empty() ? std::string("(no serial number)") : p.serial);
    if (p.title() != p.serial) line += "  " + p.title();
    std::string where;
    if (!p.usb.empty()) where = "usb " + p.usb;
    if (!p.product.empty()) where += (where.empty() ? "" : ", ") + ("product " + p.product);
    if (!where.empty()) line += " (" + where + ")";
    if (p.state == PhoneState::Ready && !p.serial.empty()) {
        line += ": ready, --backend phone:" + p.serial;
    } else {
        const std::string state =
            p.state == PhoneState::NoPermissions ? std::string("no permissions") : p.stateText;
        line += ": " + state + ": " + phoneAdvice(p);
    }
    return line;
}

std::string listing(const PhoneList& list) {
    std::string s;
    for (const Phone& p : list.phones) s += phoneLine(p) + "\n";
    return s;
}

}  // namespace

std::string formatPhones(const PhoneList& list) {
    std::string s;
    if (list.phones.empty()) {
        s = std::string(kNoPhone) + "\n";
    } else {
        s = std::to_string(list.phones.size()) + (list.phones.size() == 1 ? " phone" : " phones") +
            " seen by adb:\n" + listing(list);
    }
    for (const std::string& line : list.ignored) s += "adb also said: " + line + "\n";
    return s;
}

Result<PhoneList> listPhones(const AdbTool& adb) {
    ProcessOptions options;
    options.timeoutSeconds = adb.timeoutSeconds;
    PL_TRY_ASSIGN(ProcessResult r, runProcess({adb.path, "devices", "-l"}, options));
    if (r.timedOut) {
        return makeError(ErrorCode::Io,
                         "`adb devices -l` did not answer within " +
                             secondsText(adb.timeoutSeconds) +
                             ", so PruneLab stopped it (adb's server may be stuck: try `adb "
                             "kill-server`)",
                         adb.path);
    }
    if (!r.succeeded()) {
        std::string said = r.err.empty() ? r.out : r.err;
        while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
        return makeError(ErrorCode::Io,
                         "`adb devices -l` failed (" + r.endedHow() + "): " + printable(said, 2000),
                         adb.path);
    }
    return parseAdbDevices(r.out);
}

Result<Phone> choosePhone(const PhoneList& list, std::string_view serial) {
    if (list.phones.empty()) {
        std::string message = kNoPhone;
        if (!serial.empty()) message += " (asked for phone:" + std::string(serial) + ")";
        return makeError(ErrorCode::NotFound, message);
    }
    const Phone* chosen = nullptr;
    if (serial.empty()) {
        if (list.phones.size() > 1) {
            return makeError(ErrorCode::InvalidArgument,
                             "adb sees " + std::to_string(list.phones.size()) +
                                 " phones: pick one with --backend phone:SERIAL\n" + listing(list));
        }
        chosen = &list.phones.front();
    } else {
        size_t matches = 0;
        for (const Phone& p : list.phones) {
            if (p.serial != serial) continue;
            ++matches;
            chosen = &p;
        }
        if (matches == 0) {
            return makeError(
                ErrorCode::NotFound,
                "no phone '" + std::string(serial) + "' is connected; adb sees:\n" + listing(list));
        }
        if (matches > 1) {
            return makeError(ErrorCode::InvalidArgument,
                             std::to_string(matches) + " phones share the serial '" +
                                 std::string(serial) +
                                 "', so adb cannot tell them apart: unplug all but one");
        }
    }
    const std::string advice = phoneAdvice(*chosen);
    if (!advice.empty()) {
        return makeError(ErrorCode::Unsupported, "the phone " + chosen->title() + " (" +
                                                     chosen->serial + ") is not ready (" +
                                                     chosen->stateText + "): " + advice);
    }
    return *chosen;
}

Result<std::string> randomHex(size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    size_t got = 0;
    while (got < bytes) {
        const ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return makeError(ErrorCode::Io, "cannot read random bytes: " + errnoText(errno));
        got += static_cast<size_t>(n);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (unsigned char b : raw) {
        s += kHex[b >> 4];
        s += kHex[b & 15];
    }
    return s;
}

// ---- The agent's session --------------------------------------------------------------------

namespace {

// Runs one quick adb step; an error names the step and carries adb's own words.
Status adbStep(const AdbTool& adb, const std::vector<std::string>& args, double timeout,
               const std::string& what) {
    std::vector<std::string> argv{adb.path};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions options;
    options.timeoutSeconds = timeout;
    auto r = runProcess(argv, options);
    if (!r.ok()) return r.error().within(what);
    if (r->timedOut) {
        return makeError(ErrorCode::Io,
                         "`adb " + joinArgv(args) + "` did not finish within " +
                             secondsText(timeout) + ", so PruneLab stopped it",
                         what);
    }
    if (!r->succeeded()) {
        std::string said = r->err + r->out;
        while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
        return makeError(
            ErrorCode::Io,
            "adb " + r->endedHow() + (said.empty() ? "" : ": " + printable(said, 2000)), what);
    }
    return {};
}

}  // namespace

Result<std::unique_ptr<AgentSession>> AgentSession::start(const AdbTool& adb,
                                                          const std::string& serial,
                                                          const std::string& agentBinary,
                                                          int threads, const std::string& agentId) {
    if (!isSerialText(serial)) {
        return makeError(ErrorCode::InvalidArgument,
                         "'" + printable(serial, 100) + "' is not a phone's serial");
    }
    struct stat st {};
    if (::stat(agentBinary.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return makeError(ErrorCode::NotFound, "the agent to push is not a file", agentBinary);
    }
    std::unique_ptr<AgentSession> s(new AgentSession());
    s->m_adb = adb;
    s->m_serial = serial;
    PL_TRY_ASSIGN(std::string name, randomHex(12));
    // 32 bytes: the protocol's SessionToken, 64 hex digits on the agent's stdin.
    PL_TRY_ASSIGN(s->m_token, randomHex(32));
    s->m_socketName = "prunelab-" + name;
    if (agentId.size() > 64 || agentId.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return makeError(ErrorCode::InvalidArgument,
                         "the agent's id must be lowercase hex: '" + printable(agentId, 100) + "'");
    }
    std::string agent(kAgentPathOnPhone);
    bool present = false;
    if (!agentId.empty()) {
        // One file per agent build: the next session (the other live lane's) finds it there
        // and does not push over an agent that runs (Android refuses: "Text file busy").
        agent += "-";
        agent += agentId;
        ProcessOptions quick;
        quick.timeoutSeconds = adb.timeoutSeconds;
        auto probe = runProcess(
            {adb.path, "-s", serial, "shell", "test", "-x", agent, "&&", "echo", "present"}, quick);
        present = probe.ok() && probe->succeeded() && probe->out.find("present") == 0;
    }
    if (!present) {
        // "./-x", not "-x": adb must not read the file's name as an option.
        const std::string local = agentBinary.front() == '-' ? "./" + agentBinary : agentBinary;
        PL_TRY(adbStep(adb, {"-s", serial, "push", local, agent}, adb.pushTimeoutSeconds,
                       "pushing '" + agentBinary + "' to the phone " + serial + " at " + agent));
        PL_TRY(adbStep(adb, {"-s", serial, "shell", "chmod", "755", agent}, adb.timeoutSeconds,
                       "making " + agent + " executable on the phone " + serial));
    }
    const std::string spec = "localabstract:" + s->m_socketName;
    PL_TRY(adbStep(adb, {"-s", serial, "forward", "--no-rebind", spec, spec}, adb.timeoutSeconds,
                   "forwarding the socket " + spec + " to the phone " + serial));
    s->m_forwarded = true;  // from here on, a failure removes it (the destructor's stop())
    // The token goes on the agent's stdin (`adb shell` carries it), not in its argv, where any
    // process on either machine could read it in /proc.
    auto child =
        ChildProcess::start({adb.path, "-s", serial, "shell", agent, "--socket", s->m_socketName,
                             "--threads", std::to_string(threads), "--token", "-"},
                            s->m_token + "\n");
    if (!child.ok()) return child.error().within("starting the agent on the phone " + serial);
    s->m_agent = std::move(*child);
    return s;
}

AgentSession::~AgentSession() {
    (void)stop();
}

Status AgentSession::alive() {
    if (m_agent == nullptr) return makeError(ErrorCode::Cancelled, "the agent was stopped");
    if (m_agent->running()) return {};
    std::string said = m_agent->output();
    while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
    return makeError(ErrorCode::Io, "the agent on the phone " + m_serial + " ended (`adb shell` " +
                                        m_agent->endedHow() + ")" +
                                        (said.empty() ? "" : ": " + printable(said, 2000)));
}

Status AgentSession::stop(double graceSeconds) {
    if (m_agent != nullptr) {
        m_agent->stop(graceSeconds);
        m_agent.reset();
    }
    if (!m_forwarded) return {};
    m_forwarded = false;
    return adbStep(m_adb, {"-s", m_serial, "forward", "--remove", "localabstract:" + m_socketName},
                   m_adb.timeoutSeconds, "removing the forward of " + m_socketName);
}

}  // namespace prunelab::engine::remote
