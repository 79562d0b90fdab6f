// operator<< writes RecvError's description on narrow and wide streams:
// std::wostream << RecvError::closed writes L"channel closed". Compiled with
// the strict warning set too.

#include <multishot.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>

namespace {

bool ok = true;

void check(bool condition, const char* what) {
    if (!condition) std::printf("FAIL: expected %s\n", what);
    ok = ok && condition;
}

std::wstring widen(std::string_view text) { return std::wstring(text.begin(), text.end()); }

}  // namespace

int main() {
    std::wostringstream wide;
    wide << multishot::RecvError::closed;
    check(wide.str() == L"channel closed", "wostream << RecvError::closed writes L\"channel closed\"");

    std::ostringstream narrow;
    narrow << multishot::RecvError::closed;
    check(narrow.str() == "channel closed", "ostream << RecvError::closed writes \"channel closed\"");

    for (const multishot::RecvError error :
         {multishot::RecvError::closed, multishot::RecvError::empty, multishot::RecvError::timed_out,
          multishot::RecvError::cancelled}) {
        std::wostringstream w;
        std::ostringstream n;
        w << error << L'|';
        n << error << '|';
        check(n.str() == std::string(multishot::to_string(error)) + "|", "ostream writes to_string");
        check(w.str() == widen(multishot::to_string(error)) + L"|", "wostream writes to_string, widened");
    }
    std::puts(ok ? "operator<< on ostream and wostream: ok" : "operator<<: FAILED");
    return ok ? 0 : 1;
}
