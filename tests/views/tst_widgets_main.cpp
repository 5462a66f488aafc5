// One executable for the sparsity map, density strip and pattern view tests: BlazeFace is read
// and pruned once per suite instead of once per executable and the build links one binary.
#include <QApplication>

int runSparsityViewTests(int argc, char** argv);
int runDensityStripTests(int argc, char** argv);
int runPatternViewTests(int argc, char** argv);

int main(int argc, char** argv) {
    // Run by hand as well as by CTest: no display needed either way.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    int failed = 0;
    failed += runSparsityViewTests(argc, argv);
    failed += runDensityStripTests(argc, argv);
    failed += runPatternViewTests(argc, argv);
    return failed;
}
