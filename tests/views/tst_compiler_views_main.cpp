// One executable for the compiler view and the speed view tests (they compile BlazeFace; the
// speed view's also links the reference runtimes' profiler).
#include <QApplication>

int runKernelsViewTests(int argc, char** argv);
int runSpeedViewTests(int argc, char** argv);

int main(int argc, char** argv) {
    // Run by hand as well as by CTest: no display needed either way.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    int failed = 0;
    failed += runKernelsViewTests(argc, argv);
    failed += runSpeedViewTests(argc, argv);
    return failed;
}
