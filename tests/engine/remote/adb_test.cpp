// adb from the desktop (engine/runtime/remote/adb.h): `adb devices -l` parsed from real listings,
// choosing a phone, running programs safely, the session's exact adb calls against a FAKE adb
// (fake-adb.sh; tests using it are FakeAdb.*), and Debian's real adb with no phone (RealAdb.*).
#include "engine/runtime/remote/adb.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

namespace prunelab::engine::remote {
namespace {

namespace fs = std::filesystem;

// ---- Helpers ---------------------------------------------------------------------------------

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old;
        if (value != nullptr)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (m_old)
            ::setenv(m_name.c_str(), m_old->c_str(), 1);
        else
            ::unsetenv(m_name.c_str());
    }

  private:
    std::string m_name;
    std::optional<std::string> m_old;
};

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "prunelab-adb-test-XXXXXX").string();
        path = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string readFile(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream s(text);
    for (std::string line; std::getline(s, line);) out.push_back(line);
    return out;
}

void writeFile(const fs::path& p, const std::string& text) {
    std::ofstream(p) << text;
}

bool reaped(pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == -1 && errno == ECHILD;
}

// Gone, or a zombie waiting for its own parent (init): either way no longer running.
bool notRunning(pid_t pid) {
    if (::kill(pid, 0) != 0) return true;
    std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    const size_t close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

// SIGKILL is delivered asynchronously: a process of the killed group may take a moment to go.
bool stopsRunning(pid_t pid) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!notRunning(pid) && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return notRunning(pid);
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// ---- `adb devices -l` ------------------------------------------------------------------------

// As Debian's adb 29 prints it for a Pixel 7 on USB (serial first, padded to 22 columns).
constexpr const char* kPixel =
    "List of devices attached\n"
    "2A291FDH3005ZK         device usb:1-4 product:panther model:Pixel_7 device:panther "
    "transport_id:3\n"
    "\n";

TEST(AdbDevices, ParsesAReadyPhone) {
    auto list = parseAdbDevices(kPixel);
    ASSERT_TRUE(list.ok()) << list.error().toString();
    ASSERT_EQ(list->phones.size(), 1u);
    const Phone& p = list->phones[0];
    EXPECT_EQ(p.serial, "2A291FDH3005ZK");
    EXPECT_EQ(p.state, PhoneState::Ready);
    EXPECT_EQ(p.stateText, "device");
    EXPECT_EQ(p.usb, "1-4");
    EXPECT_EQ(p.product, "panther");
    EXPECT_EQ(p.model, "Pixel_7");
    EXPECT_EQ(p.device, "panther");
    EXPECT_EQ(p.transportId, 3);
    EXPECT_EQ(p.title(), "Pixel 7");
    EXPECT_EQ(phoneAdvice(p), "");
    EXPECT_TRUE(list->ignored.empty());
}

TEST(AdbDevices, SkipsTheDaemonPreambleAndAnEmptyList) {
    auto list = parseAdbDevices(
        "* daemon not running; starting now at tcp:5037\n"
        "* daemon started successfully\n"
        "List of devices attached\n"
        "\n");
    ASSERT_TRUE(list.ok());
    EXPECT_TRUE(list->phones.empty());
    EXPECT_TRUE(list->ignored.empty());
    auto empty = parseAdbDevices("");
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->phones.empty());
}

TEST(AdbDevices, ParsesEveryStateAndSaysWhatToDo) {
    auto list = parseAdbDevices(
        "List of devices attached\n"
        "R58M12ABCDE            unauthorized usb:2-1 transport_id:5\n"
        "emulator-5554          offline transport_id:1\n"
        "0123456789ABCDEF       no permissions (user alice is not in the plugdev group); see "
        "[http://developer.android.com/tools/device.html] usb:1-1 transport_id:2\n"
        "HT7A1B234567           no permissions; see "
        "[http://developer.android.com/tools/device.html] usb:3-2 transport_id:9\n"
        "FA6AB0301234           recovery usb:1-2 product:sailfish model:Pixel device:sailfish "
        "transport_id:6\n"
        "ZY22ABCDEF             authorizing usb:1-3 transport_id:7\n"
        "9B011FFAZ00ABC         weird-new-state usb:1-5 transport_id:8\n");
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->phones.size(), 6u);
    EXPECT_EQ(list->phones[0].state, PhoneState::Unauthorized);
    EXPECT_TRUE(
        contains(phoneAdvice(list->phones[0]), "accept the USB debugging prompt on the phone"));
    EXPECT_EQ(list->phones[1].serial, "emulator-5554");
    EXPECT_EQ(list->phones[1].state, PhoneState::Offline);
    EXPECT_TRUE(contains(phoneAdvice(list->phones[1]), "plug it in again"));
    EXPECT_EQ(list->phones[2].state, PhoneState::NoPermissions);
    EXPECT_EQ(list->phones[2].stateText,
              "no permissions (user alice is not in the plugdev group); see "
              "[http://developer.android.com/tools/device.html]");
    EXPECT_EQ(list->phones[2].usb, "1-1");
    EXPECT_EQ(list->phones[2].transportId, 2);
    EXPECT_TRUE(contains(phoneAdvice(list->phones[2]), "plugdev"));
    EXPECT_EQ(list->phones[3].state, PhoneState::NoPermissions);
    EXPECT_EQ(list->phones[3].usb, "3-2");
    EXPECT_EQ(list->phones[4].state, PhoneState::OtherMode);
    EXPECT_TRUE(contains(phoneAdvice(list->phones[4]), "recovery mode"));
    EXPECT_EQ(list->phones[5].state, PhoneState::Unauthorized);
    // An unknown state is no phone line: it is kept for the message, not guessed at.
    ASSERT_EQ(list->ignored.size(), 1u);
    EXPECT_TRUE(contains(list->ignored[0], "weird-new-state"));
}

TEST(AdbDevices, ParsesNetworkEmulatorAndShortListings) {
    auto list = parseAdbDevices(
        "List of devices attached\r\n"
        "192.168.1.42:5555      device product:sunfish model:Pixel_4a device:sunfish "
        "transport_id:7\r\n"
        "adb-26011FDH2000ZK-Yx9gS2._adb-tls-connect._tcp device product:oriole model:Pixel_6 "
        "device:oriole transport_id:4\n"
        "emulator-5556\tdevice\n"
        "(no serial number)     device usb:1-7 product:x model:Cheap_Tab device:x "
        "transport_id:11\n");
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->phones.size(), 4u);
    EXPECT_EQ(list->phones[0].serial, "192.168.1.42:5555");
    EXPECT_EQ(list->phones[0].transportId, 7);
    EXPECT_EQ(list->phones[0].usb, "");
    EXPECT_EQ(list->phones[1].serial, "adb-26011FDH2000ZK-Yx9gS2._adb-tls-connect._tcp");
    EXPECT_EQ(list->phones[1].title(), "Pixel 6");
    EXPECT_EQ(list->phones[2].serial, "emulator-5556");
    EXPECT_EQ(list->phones[2].state, PhoneState::Ready);
    EXPECT_EQ(list->phones[2].transportId, -1);
    EXPECT_EQ(list->phones[3].serial, "");
    EXPECT_EQ(list->phones[3].model, "Cheap_Tab");
    EXPECT_TRUE(contains(phoneAdvice(list->phones[3]), "no serial number"));
}

TEST(AdbDevices, KeepsGarbageApartWithoutFailing) {
    std::string garbage =
        "adb server version (41) doesn't match this client (39); killing...\n"
        "error: cannot connect to daemon\n"
        "????????????           no permissions\n"
        "ABC devices\n"
        "lonely-serial\n"
        "SERIAL device transport_id:notanumber model:\n";
    garbage += "\x01\x02\xff binary\x7f\n";
    garbage += std::string(5000, 'x') + " device\n";
    auto list = parseAdbDevices(garbage);
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->phones.size(), 1u);  // "SERIAL device" with its bad transport id dropped
    EXPECT_EQ(list->phones[0].serial, "SERIAL");
    EXPECT_EQ(list->phones[0].transportId, -1);
    ASSERT_EQ(list->ignored.size(), 7u);
    EXPECT_EQ(list->ignored[0],
              "adb server version (41) doesn't match this client (39); killing...");
    for (const std::string& line : list->ignored) {
        EXPECT_LE(line.size(), 203u);
        for (char c : line) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20);
    }
}

TEST(AdbDevices, RefusesOversizedListings) {
    auto big = parseAdbDevices(std::string((1u << 20) + 1, '\n'));
    ASSERT_FALSE(big.ok());
    EXPECT_TRUE(contains(big.error().message, "1 MiB"));
    std::string many;
    for (int i = 0; i < 600; ++i) {
        many += 'S';
        many += std::to_string(i);
        many += " device\n";
    }
    auto crowded = parseAdbDevices(many);
    ASSERT_FALSE(crowded.ok());
    EXPECT_TRUE(contains(crowded.error().message, "more than 512 phones"));
}

// ---- Choosing a phone -------------------------------------------------------------------------

TEST(ChoosePhone, NoPhoneSaysHowToConnectOne) {
    auto chosen = choosePhone(PhoneList{}, "");
    ASSERT_FALSE(chosen.ok());
    EXPECT_EQ(chosen.error().message,
              "no phone is connected: plug one in with USB debugging on (Settings > Developer "
              "options)");
    EXPECT_TRUE(contains(formatPhones(PhoneList{}), "no phone is connected"));
}

TEST(ChoosePhone, SeveralPhonesNeedASerial) {
    auto list = parseAdbDevices(std::string(kPixel) +
                                "R58M12ABCDE            unauthorized usb:2-1 transport_id:5\n");
    ASSERT_TRUE(list.ok());
    auto chosen = choosePhone(*list, "");
    ASSERT_FALSE(chosen.ok());
    const std::string& m = chosen.error().message;
    EXPECT_TRUE(contains(m, "adb sees 2 phones: pick one with --backend phone:SERIAL")) << m;
    EXPECT_TRUE(contains(m, "2A291FDH3005ZK  Pixel 7")) << m;
    EXPECT_TRUE(contains(m, "R58M12ABCDE")) << m;
    EXPECT_TRUE(contains(m, "accept the USB debugging prompt on the phone")) << m;

    auto pixel = choosePhone(*list, "2A291FDH3005ZK");
    ASSERT_TRUE(pixel.ok()) << pixel.error().toString();
    EXPECT_EQ(pixel->model, "Pixel_7");
    auto unauthorized = choosePhone(*list, "R58M12ABCDE");
    ASSERT_FALSE(unauthorized.ok());
    EXPECT_TRUE(contains(unauthorized.error().message, "not ready (unauthorized): accept"));
    auto unknown = choosePhone(*list, "NOPE");
    ASSERT_FALSE(unknown.ok());
    EXPECT_TRUE(contains(unknown.error().message, "no phone 'NOPE' is connected; adb sees:"));
}

TEST(ChoosePhone, TheOnlyPhoneAndSharedSerials) {
    auto one = parseAdbDevices(kPixel);
    ASSERT_TRUE(one.ok());
    auto chosen = choosePhone(*one, "");
    ASSERT_TRUE(chosen.ok());
    EXPECT_EQ(chosen->serial, "2A291FDH3005ZK");
    auto twins =
        parseAdbDevices("0123456789ABCDEF device usb:1-1\n0123456789ABCDEF device usb:1-2\n");
    ASSERT_TRUE(twins.ok());
    auto same = choosePhone(*twins, "0123456789ABCDEF");
    ASSERT_FALSE(same.ok());
    EXPECT_TRUE(contains(same.error().message, "2 phones share the serial"));
}

TEST(ChoosePhone, TheListingNamesTheBackendToPick) {
    auto list = parseAdbDevices(kPixel);
    ASSERT_TRUE(list.ok());
    EXPECT_EQ(formatPhones(*list),
              "1 phone seen by adb:\n"
              "  2A291FDH3005ZK  Pixel 7 (usb 1-4, product panther): ready, --backend "
              "phone:2A291FDH3005ZK\n");
}

TEST(RandomHex, IsHexOfTheLengthAndDiffers) {
    auto a = randomHex(16), b = randomHex(16);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(std::regex_match(*a, std::regex("[0-9a-f]{32}")));
    EXPECT_NE(*a, *b);
}

// ---- Running a program ------------------------------------------------------------------------

TEST(RunProcess, CapturesOutputsAndTheExitCode) {
    auto r = runProcess({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->out, "out\n");
    EXPECT_EQ(r->err, "err\n");
    EXPECT_EQ(r->exitCode, 3);
    EXPECT_FALSE(r->succeeded());
    EXPECT_TRUE(reaped(r->pid));
}

TEST(RunProcess, ArgumentsNeverGoThroughAShell) {
    TempDir dir;
    const fs::path marker = dir.path / "marker";
    const std::string tricky = "a; touch " + marker.string() + " $(id)";
    auto r = runProcess({"echo", tricky});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out, tricky + "\n");
    EXPECT_FALSE(fs::exists(marker));
}

TEST(RunProcess, AMissingProgramIsAClearError) {
    auto r = runProcess({"prunelab-no-such-program-xyz"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_TRUE(contains(r.error().message, "cannot run 'prunelab-no-such-program-xyz'"));
    EXPECT_FALSE(runProcess({}).ok());
}

TEST(RunProcess, ATimeoutKillsTheGroupAndReaps) {
    TempDir dir;
    const fs::path pidFile = dir.path / "pid";
    ProcessOptions options;
    options.timeoutSeconds = 1;
    auto r = runProcess({"/bin/sh", "-c", "sleep 300 & echo $! > " + pidFile.string() + "; wait"},
                        options);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->timedOut);
    EXPECT_FALSE(r->succeeded());
    EXPECT_TRUE(reaped(r->pid));
    const std::string sleeper = readFile(pidFile);
    if (!sleeper.empty()) {
        EXPECT_TRUE(stopsRunning(std::stoi(sleeper)));
    }
}

TEST(RunProcess, OutputIsCapped) {
    ProcessOptions options;
    options.maxOutputBytes = 1000;
    auto r = runProcess({"head", "-c", "300000", "/dev/zero"}, options);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out.size(), 1000u);
    EXPECT_TRUE(r->truncated);
    EXPECT_EQ(r->exitCode, 0);
}

TEST(ChildProcessTest, StopKillsAndReaps) {
    auto child = ChildProcess::start({"/bin/sh", "-c", "echo started; exec sleep 300"});
    ASSERT_TRUE(child.ok());
    const pid_t pid = (*child)->pid();
    EXPECT_TRUE((*child)->running());
    (*child)->stop(0.5);
    EXPECT_FALSE((*child)->running());
    EXPECT_EQ((*child)->endedHow(), "killed by signal " + std::to_string(SIGTERM));
    EXPECT_TRUE(reaped(pid));
}

TEST(ChildProcessTest, AChildThatIgnoresTermIsKilledWithItsGroup) {
    TempDir dir;
    const fs::path pidFile = dir.path / "pid";
    auto child = ChildProcess::start(
        {"/bin/sh", "-c", "trap '' TERM; sleep 300 & echo $! > " + pidFile.string() + "; wait"});
    ASSERT_TRUE(child.ok());
    const pid_t pid = (*child)->pid();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (readFile(pidFile).empty() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const std::string sleeper = readFile(pidFile);
    ASSERT_FALSE(sleeper.empty());
    (*child)->stop(0.3);
    EXPECT_EQ((*child)->endedHow(), "killed by signal " + std::to_string(SIGKILL));
    EXPECT_TRUE(reaped(pid));
    EXPECT_TRUE(stopsRunning(std::stoi(sleeper)));
}

// ---- Finding adb ------------------------------------------------------------------------------

TEST(FindAdb, NoAdbGivesTheInstallHint) {
    TempDir empty;
    ScopedEnv noOverride("PRUNELAB_ADB", nullptr);
    ScopedEnv path("PATH", empty.path.c_str());
    auto adb = findAdb();
    ASSERT_FALSE(adb.ok());
    EXPECT_EQ(adb.error().code, ErrorCode::NotFound);
    EXPECT_EQ(adb.error().message, "adb is not installed: run ./prunelab setup");
}

// ---- The session against the fake adb ---------------------------------------------------------

class FakeAdb : public ::testing::Test {
  protected:
    void SetUp() override {
        m_adb.path = PRUNELAB_FAKE_ADB;
        m_adb.timeoutSeconds = 20;
        m_agent = m_dir.path / "prunelab-agent";
        writeFile(m_agent, "not really an agent\n");
    }
    std::vector<std::string> log() const { return lines(readFile(m_log)); }
    // The fake agent logs "fake agent ready, sleep pid N" once its TERM trap is set: the line,
    // or "" after 10 s.
    std::string waitForReady() const {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < until) {
            for (const std::string& l : log())
                if (l.rfind("fake agent ready, sleep pid ", 0) == 0) return l;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return {};
    }

    TempDir m_dir;
    fs::path m_log = m_dir.path / "calls.log";
    fs::path m_agent;
    AdbTool m_adb;
    ScopedEnv m_logEnv{"FAKE_ADB_LOG", m_log.c_str()};
};

TEST_F(FakeAdb, PrunelabAdbChoosesIt) {
    ScopedEnv fake("PRUNELAB_ADB", PRUNELAB_FAKE_ADB);
    auto adb = findAdb();
    ASSERT_TRUE(adb.ok()) << adb.error().toString();
    EXPECT_EQ(adb->path, PRUNELAB_FAKE_ADB);
    ScopedEnv wrong("PRUNELAB_ADB", "/nonexistent/adb");
    auto bad = findAdb();
    ASSERT_FALSE(bad.ok());
    EXPECT_TRUE(contains(bad.error().message, "PRUNELAB_ADB is '/nonexistent/adb'"));
}

TEST_F(FakeAdb, ListsThePhonesOfItsFixture) {
    const fs::path fixture = m_dir.path / "devices.txt";
    writeFile(fixture, std::string("* daemon started successfully\n") + kPixel);
    ScopedEnv devices("FAKE_ADB_DEVICES", fixture.c_str());
    auto list = listPhones(m_adb);
    ASSERT_TRUE(list.ok()) << list.error().toString();
    ASSERT_EQ(list->phones.size(), 1u);
    EXPECT_EQ(list->phones[0].serial, "2A291FDH3005ZK");
    EXPECT_EQ(log(), std::vector<std::string>{"devices -l"});
}

TEST_F(FakeAdb, NoPhoneGivesTheClearMessage) {
    auto list = listPhones(m_adb);
    ASSERT_TRUE(list.ok());
    auto chosen = choosePhone(*list, "");
    ASSERT_FALSE(chosen.ok());
    EXPECT_TRUE(contains(chosen.error().message, "no phone is connected: plug one in"));
}

TEST_F(FakeAdb, SessionStartAndStopRunTheExactCalls) {
    auto session = AgentSession::start(m_adb, "FAKE0001", m_agent.string());
    ASSERT_TRUE(session.ok()) << session.error().toString();
    const std::string name = (*session)->socketName();
    const std::string token = (*session)->token();
    EXPECT_TRUE(std::regex_match(name, std::regex("prunelab-[0-9a-f]{24}"))) << name;
    EXPECT_TRUE(std::regex_match(token, std::regex("[0-9a-f]{64}"))) << token;
    const std::string ready = waitForReady();
    ASSERT_FALSE(ready.empty());
    EXPECT_TRUE((*session)->alive().ok());
    Status stopped = (*session)->stop();
    ASSERT_TRUE(stopped.ok()) << stopped.error().toString();
    EXPECT_TRUE((*session)->stop().ok());  // idempotent: nothing more runs
    const std::string spec = "localabstract:" + name;
    const std::vector<std::string> expected{
        "-s FAKE0001 push " + m_agent.string() + " /data/local/tmp/prunelab-agent",
        "-s FAKE0001 shell chmod 755 /data/local/tmp/prunelab-agent",
        "-s FAKE0001 forward --no-rebind " + spec + " " + spec,
        // The token is not in argv: it arrives on the agent's stdin.
        "-s FAKE0001 shell /data/local/tmp/prunelab-agent --socket " + name +
            " --threads 0 --token -",
        "fake agent stdin: " + token,
        ready,
        "fake agent stopped by TERM",
        "-s FAKE0001 forward --remove " + spec,
    };
    EXPECT_EQ(log(), expected);
    // Nothing the agent's `adb shell` started outlives stop().
    EXPECT_TRUE(stopsRunning(std::stoi(ready.substr(ready.rfind(' ') + 1))));
    EXPECT_FALSE((*session)->alive().ok());

    // A second session gets its own name and token.
    auto again = AgentSession::start(m_adb, "FAKE0001", m_agent.string());
    ASSERT_TRUE(again.ok());
    EXPECT_NE((*again)->socketName(), name);
    EXPECT_NE((*again)->token(), token);
}

TEST_F(FakeAdb, AnAgentNamedByItsHashIsPushedOnlyWhenThePhoneLacksIt) {
    const std::string path = "/data/local/tmp/prunelab-agent-0123abcd";
    {
        auto session = AgentSession::start(m_adb, "FAKE0001", m_agent.string(), 2, "0123abcd");
        ASSERT_TRUE(session.ok()) << session.error().toString();
        ASSERT_FALSE(waitForReady().empty());
        const std::vector<std::string> calls = log();
        ASSERT_GE(calls.size(), 5u);
        EXPECT_EQ(calls[0], "-s FAKE0001 shell test -x " + path + " && echo present");
        EXPECT_EQ(calls[1], "-s FAKE0001 push " + m_agent.string() + " " + path);
        EXPECT_EQ(calls[2], "-s FAKE0001 shell chmod 755 " + path);
        EXPECT_EQ(calls[4].rfind("-s FAKE0001 shell " + path + " --socket ", 0), 0u) << calls[4];
        EXPECT_NE(calls[4].find(" --threads 2 --token -"), std::string::npos) << calls[4];
    }
    fs::remove(m_log);
    ScopedEnv has("FAKE_ADB_HAS_AGENT", "1");
    auto session = AgentSession::start(m_adb, "FAKE0001", m_agent.string(), 0, "0123abcd");
    ASSERT_TRUE(session.ok()) << session.error().toString();
    ASSERT_FALSE(waitForReady().empty());
    for (const std::string& call : log()) {
        EXPECT_EQ(call.find(" push "), std::string::npos) << call;
        EXPECT_EQ(call.find("chmod"), std::string::npos) << call;
    }
    // An id that is not lowercase hex never reaches the phone's shell.
    auto bad = AgentSession::start(m_adb, "FAKE0001", m_agent.string(), 0, "ab;rm -rf /");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
}

TEST_F(FakeAdb, AFailedPushNamesTheFileAndAdbsWords) {
    ScopedEnv fail("FAKE_ADB_FAIL", "push");
    auto session = AgentSession::start(m_adb, "FAKE0001", m_agent.string());
    ASSERT_FALSE(session.ok());
    const std::string m = session.error().toString();
    EXPECT_TRUE(contains(m, "pushing '" + m_agent.string() + "' to the phone FAKE0001")) << m;
    EXPECT_TRUE(contains(m, "remote couldn't create file: Read-only file system")) << m;
    EXPECT_EQ(log().size(), 1u);
}

TEST_F(FakeAdb, AMissingAgentIsNamedBeforeAdbRuns) {
    auto session = AgentSession::start(m_adb, "FAKE0001", (m_dir.path / "nope").string());
    ASSERT_FALSE(session.ok());
    EXPECT_TRUE(contains(session.error().toString(), "nope: the agent to push is not a file"));
    EXPECT_TRUE(log().empty());
}

TEST_F(FakeAdb, AFailedChmodSaysSo) {
    ScopedEnv fail("FAKE_ADB_FAIL", "chmod");
    auto session = AgentSession::start(m_adb, "FAKE0001", m_agent.string());
    ASSERT_FALSE(session.ok());
    const std::string m = session.error().toString();
    EXPECT_TRUE(contains(m, "making /data/local/tmp/prunelab-agent executable")) << m;
    EXPECT_TRUE(contains(m, "Operation not permitted")) << m;
    EXPECT_EQ(log().size(), 2u);
}

TEST_F(FakeAdb, AFailedForwardSaysSoAndRemovesNothing) {
    ScopedEnv fail("FAKE_ADB_FAIL", "forward");
    auto session = AgentSession::start(m_adb, "FAKE0001", m_agent.string());
    ASSERT_FALSE(session.ok());
    const std::string m = session.error().toString();
    EXPECT_TRUE(contains(m, "forwarding the socket localabstract:prunelab-")) << m;
    EXPECT_TRUE(contains(m, "Address already in use")) << m;
    EXPECT_EQ(log().size(), 3u);
}

TEST_F(FakeAdb, AnAgentThatCannotStartIsReportedAndTheForwardRemoved) {
    ScopedEnv fail("FAKE_ADB_FAIL", "agent");
    auto session = AgentSession::start(m_adb, "FAKE0001", m_agent.string());
    ASSERT_TRUE(session.ok()) << session.error().toString();
    Status alive;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((alive = (*session)->alive()).ok() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_FALSE(alive.ok());
    EXPECT_TRUE(contains(alive.error().message, "exit status 126")) << alive.error().message;
    EXPECT_TRUE(contains(alive.error().message, "can't execute: Permission denied"))
        << alive.error().message;
    EXPECT_TRUE((*session)->stop().ok());
    const auto calls = log();
    ASSERT_EQ(calls.size(), 5u);
    EXPECT_TRUE(contains(calls.back(), "forward --remove localabstract:prunelab-"));
}

TEST_F(FakeAdb, AFailedRemoveIsReported) {
    ScopedEnv fail("FAKE_ADB_FAIL", "remove");
    auto session = AgentSession::start(m_adb, "FAKE0001", m_agent.string());
    ASSERT_TRUE(session.ok());
    ASSERT_FALSE(waitForReady().empty());
    Status stopped = (*session)->stop();
    ASSERT_FALSE(stopped.ok());
    EXPECT_TRUE(contains(stopped.error().toString(), "removing the forward of prunelab-"));
    EXPECT_TRUE(contains(stopped.error().toString(), "not found"));
}

TEST_F(FakeAdb, AFailingAdbDevicesIsReportedWithItsWords) {
    ScopedEnv fail("FAKE_ADB_FAIL", "devices");
    auto list = listPhones(m_adb);
    ASSERT_FALSE(list.ok());
    EXPECT_TRUE(contains(list.error().message,
                         "`adb devices -l` failed (exit status 1): adb: fake failure"));
}

TEST_F(FakeAdb, AHungAdbIsStoppedAndReaped) {
    ScopedEnv hang("FAKE_ADB_HANG", "devices");
    m_adb.timeoutSeconds = 2;
    auto list = listPhones(m_adb);
    ASSERT_FALSE(list.ok());
    EXPECT_TRUE(contains(list.error().message, "did not answer within 2 s"))
        << list.error().message;
    // The fake logs its own pid and its sleep's once it runs; both are gone now.
    std::smatch m;
    const std::string text = readFile(m_log);
    if (std::regex_search(text, m, std::regex("fake-adb hung: pid ([0-9]+), sleep pid ([0-9]+)"))) {
        EXPECT_TRUE(reaped(std::stoi(m[1])));
        EXPECT_TRUE(stopsRunning(std::stoi(m[2])));
    }
}

TEST_F(FakeAdb, AHungPushIsStopped) {
    ScopedEnv hang("FAKE_ADB_HANG", "push");
    m_adb.pushTimeoutSeconds = 1;
    auto session = AgentSession::start(m_adb, "FAKE0001", m_agent.string());
    ASSERT_FALSE(session.ok());
    EXPECT_TRUE(contains(session.error().toString(), "did not finish within 1 s"));
}

// ---- Debian's real adb, no phone ----------------------------------------------------------------

// A free TCP port on loopback for a private adb server, so the test neither uses nor stops a
// server someone else runs.
int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

TEST(RealAdb, NoPhoneGivesTheClearMessage) {
    ScopedEnv noOverride("PRUNELAB_ADB", nullptr);
    auto adb = findAdb();
    if (!adb.ok())
        GTEST_SKIP() << "SKIPPED: Debian's adb is not installed (" << adb.error().message << ")";
    // Its own server on its own port and home (adb writes ~/.android/adbkey), killed at the end.
    TempDir home;
    const int port = freePort();
    ASSERT_GT(port, 0);
    const std::string portText = std::to_string(port);
    ScopedEnv serverPort("ANDROID_ADB_SERVER_PORT", portText.c_str());
    ScopedEnv serverSocket("ADB_SERVER_SOCKET", nullptr);
    ScopedEnv homeEnv("HOME", home.path.c_str());
    ScopedEnv sdkHome("ANDROID_SDK_HOME", home.path.c_str());
    ScopedEnv userHome("ANDROID_USER_HOME", home.path.c_str());
    adb->timeoutSeconds = 30;  // a cold server on a busy machine takes a while to start
    struct KillServer {
        std::string path;
        ~KillServer() {
            ProcessOptions o;
            o.timeoutSeconds = 20;
            (void)runProcess({path, "kill-server"}, o);
        }
    } killServer{adb->path};
    auto list = listPhones(*adb);
    ASSERT_TRUE(list.ok()) << list.error().toString();
    if (!list->phones.empty())
        GTEST_SKIP() << "SKIPPED: adb sees a phone or emulator here; this test needs none:\n"
                     << formatPhones(*list);
    auto chosen = choosePhone(*list, "");
    ASSERT_FALSE(chosen.ok());
    EXPECT_EQ(chosen.error().message,
              "no phone is connected: plug one in with USB debugging on (Settings > Developer "
              "options)");
}

}  // namespace
}  // namespace prunelab::engine::remote
