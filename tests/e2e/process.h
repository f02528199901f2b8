// Starting the kestrel binary as a child process with its stdout and
// stderr in files, extra environment variables, and signals sent to it at
// chosen moments (the interruption and hardening tests).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace kestrel::test {

class Child {
 public:
  // Runs argv[0] with `env` (NAME=VALUE) added to this process's environment.
  Child(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path,
        const std::vector<std::string>& env = {})
      : out_(out_path), err_(err_path) {
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) envs.emplace_back(*e);
    envs.insert(envs.end(), env.begin(), env.end());
    // Truncated here, before the fork: a wait_for() right after the
    // constructor must not find the text of an earlier child in the file.
    const int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(o, 1);  // dup2 clears close-on-exec on the copies
      ::dup2(e, 2);
      std::vector<char*> a, v;
      for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      for (const auto& s : envs) v.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      v.push_back(nullptr);
      ::execve(a[0], a.data(), v.data());
      ::_exit(127);
    }
    ::close(o);
    ::close(e);
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void signal(int sig) const { ::kill(pid_, sig); }

  // Exit status, or 128 + signal when the child was killed by one; -1 on
  // timeout (the child is then killed).
  int wait(double timeout_s = 60) {
    const auto t0 = std::chrono::steady_clock::now();
    int st = 0;
    while (::waitpid(pid_, &st, WNOHANG) == 0) {
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > timeout_s) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        reaped_ = true;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    reaped_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  // Waits until `text` appears in the child's stderr (or stdout); false on
  // timeout or when the child exited first.
  bool wait_for(const std::string& text, bool in_stdout = false, double timeout_s = 30) const {
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < timeout_s) {
      if (read(in_stdout ? out_ : err_).find(text) != std::string::npos) return true;
      if (exited()) return read(in_stdout ? out_ : err_).find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  // True once the child has exited (it stays waitable).
  bool exited() const {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_;
  }

  std::string out() const { return read(out_); }
  std::string err() const { return read(err_); }

  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string out_, err_;
};

}  // namespace kestrel::test
