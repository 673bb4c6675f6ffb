#pragma once
// One thread per context runs that context's operations in order, so llama.cpp never sees two
// calls on one context at once and long decodes never occupy libuv's shared pool.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ps {

class TaskThread {
public:
    TaskThread();
    ~TaskThread();  // runs what is queued, then joins
    TaskThread(const TaskThread &) = delete;
    TaskThread & operator=(const TaskThread &) = delete;

    // Returns false once stop() was called: the task is not queued.
    bool post(std::function<void()> task);
    // Queued tasks still run; later posts are refused. Joins. Idempotent; never call from the thread itself.
    void stop();
    bool on_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

private:
    void run();

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace ps
