#include "rpc.h"

#include "abort-guard.h"
#include "error-codes.h"

#include "ggml-rpc.h"
#include "ggml.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#ifdef _WIN32
#    ifndef WIN32_LEAN_AND_MEAN
#        define WIN32_LEAN_AND_MEAN
#    endif
#    ifndef NOMINMAX
#        define NOMINMAX
#    endif
#    include <winsock2.h>
#    include <ws2tcpip.h>
using socket_handle = SOCKET;
static const socket_handle k_bad_socket = INVALID_SOCKET;
static void close_socket(socket_handle s) { closesocket(s); }
#else
#    include <fcntl.h>
#    include <netdb.h>
#    include <netinet/in.h>
#    include <netinet/tcp.h>
#    include <poll.h>
#    include <sys/socket.h>
#    include <unistd.h>
using socket_handle = int;
static const socket_handle k_bad_socket = -1;
static void close_socket(socket_handle s) { ::close(s); }
#endif

namespace ps {

namespace {

std::mutex g_mutex;
std::set<std::string> g_used;          // endpoints this process has added (probed once)
std::string g_used_list;               // for the abort message
bool g_server_started = false;

// ggml-rpc.cpp's wire format: | cmd (1) | size (8) | data | ; reply | size (8) | data |.
constexpr uint8_t k_cmd_hello = 14;    // static_assert in ggml-rpc.cpp: "RPC_CMD_HELLO must be always 14"
constexpr size_t k_caps_size = 24;     // RPC_CONN_CAPS_SIZE (transport.h)
struct HelloRsp {
    uint8_t major, minor, patch, padding;
    uint8_t caps[k_caps_size];
};

bool split_endpoint(const std::string & endpoint, std::string & host, std::string & port) {
    const size_t colon = endpoint.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == endpoint.size()) return false;
    host = endpoint.substr(0, colon);
    port = endpoint.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return true;
}

int ms_left(std::chrono::steady_clock::time_point deadline) {
    return (int) std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
}

#ifndef _WIN32
bool wait_fd(socket_handle s, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        pollfd p{ s, events, 0 };
        const int r = ::poll(&p, 1, ms_left(deadline));
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return false;
    }
}
#else
bool wait_fd(socket_handle s, short events, std::chrono::steady_clock::time_point deadline) {
    WSAPOLLFD p{ s, events, 0 };
    return WSAPoll(&p, 1, ms_left(deadline)) > 0;
}
#endif

// Moves all n bytes with `io` (a send or a recv of up to k bytes, returning how many it moved),
// waiting for `events` before each call; false on a closed peer, an error or the deadline.
template <typename Io>
bool transfer_all(socket_handle s, char * p, size_t n, short events, std::chrono::steady_clock::time_point deadline, Io io) {
    while (n > 0) {
        if (!wait_fd(s, events, deadline)) return false;
        const auto k = io(p, (int) n);
        if (k <= 0) return false;
        p += k;
        n -= (size_t) k;
    }
    return true;
}

bool send_all(socket_handle s, const void * data, size_t n, std::chrono::steady_clock::time_point deadline) {
    return transfer_all(s, (char *) data, n, POLLOUT, deadline, [s](char * p, int k) { return ::send(s, p, k, 0); });
}

bool recv_all(socket_handle s, void * data, size_t n, std::chrono::steady_clock::time_point deadline) {
    return transfer_all(s, (char *) data, n, POLLIN, deadline, [s](char * p, int k) { return ::recv(s, p, k, 0); });
}

// Written after ggml's own message by the one abort handler (native/abort-guard.cpp).
void rpc_abort_note() {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_used.empty()) {
        std::fprintf(stderr,
            "persona-steer: ggml aborted the process while RPC servers were in use (%s). ggml's RPC backend "
            "cannot continue when a server stops answering or goes away (docs/distributed.md).\n", g_used_list.c_str());
    }
    std::fflush(stderr);
}

ggml_backend_reg_t rpc_reg() {
    return ggml_backend_reg_by_name("RPC");
}

}  // namespace

std::string rpc_protocol_version() {
    return std::to_string(RPC_PROTO_MAJOR_VERSION) + "." + std::to_string(RPC_PROTO_MINOR_VERSION) + "." + std::to_string(RPC_PROTO_PATCH_VERSION);
}

bool rpc_available() {
    return rpc_reg() != nullptr;
}

RpcError rpc_probe(const std::string & endpoint, int timeout_ms) {
    std::string host, port;
    if (!split_endpoint(endpoint, host, port)) {
        return { codes::INVALID_ARG, "expected host:port, received " + endpoint };
    }
#ifdef _WIN32
    static std::once_flag wsa;
    std::call_once(wsa, []() { WSADATA d; WSAStartup(MAKEWORD(2, 2), &d); });
#endif
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo * res = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
        return { codes::RPC_CONNECT, "RPC server " + endpoint + ": cannot resolve host " + host };
    }
    std::string why = "connection refused";
    socket_handle s = k_bad_socket;
    for (addrinfo * ai = res; ai && s == k_bad_socket; ai = ai->ai_next) {
        socket_handle c = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (c == k_bad_socket) continue;
#ifdef _WIN32
        u_long nb = 1;
        ioctlsocket(c, FIONBIO, &nb);
#else
        ::fcntl(c, F_SETFL, ::fcntl(c, F_GETFL, 0) | O_NONBLOCK);
#endif
        const int r = ::connect(c, ai->ai_addr, (int) ai->ai_addrlen);
        bool ok = r == 0;
        if (!ok && wait_fd(c, POLLOUT, deadline)) {
            int err = 0;
            socklen_t len = sizeof(err);
            ok = ::getsockopt(c, SOL_SOCKET, SO_ERROR, (char *) &err, &len) == 0 && err == 0;
            if (!ok) why = std::strerror(err);
        } else if (!ok) {
            why = "no answer within " + std::to_string(timeout_ms) + " ms";
        }
        if (ok) s = c; else close_socket(c);
    }
    freeaddrinfo(res);
    if (s == k_bad_socket) return { codes::RPC_CONNECT, "RPC server " + endpoint + ": " + why };

    uint8_t req[1 + 8 + k_caps_size] = {};
    req[0] = k_cmd_hello;
    const uint64_t size = k_caps_size;
    std::memcpy(req + 1, &size, sizeof(size));   // caps all zero: plain TCP
    uint64_t rsp_size = 0;
    HelloRsp rsp{};
    const bool answered = send_all(s, req, sizeof(req), deadline) && recv_all(s, &rsp_size, sizeof(rsp_size), deadline)
        && rsp_size == sizeof(HelloRsp) && recv_all(s, &rsp, sizeof(rsp), deadline);
    close_socket(s);
    if (!answered) {
        return { codes::RPC_CONNECT, "RPC server " + endpoint + " accepted the connection but did not complete ggml's RPC handshake within " +
            std::to_string(timeout_ms) + " ms (not an rpc-server, or busy: a server serves one client at a time)" };
    }
    const std::string theirs = std::to_string(rsp.major) + "." + std::to_string(rsp.minor) + "." + std::to_string(rsp.patch);
    if (theirs != rpc_protocol_version()) {
        return { codes::RPC_VERSION, "RPC server " + endpoint + " speaks RPC protocol " + theirs + ", this build " + rpc_protocol_version() +
            ": start the server from the same persona-steer version (persona-steer rpc-server)" };
    }
    return {};
}

RpcError rpc_model_devices(const std::vector<std::string> & endpoints, const std::vector<float> & tensor_split,
                           int timeout_ms, std::vector<ggml_backend_dev_t> & devices, std::vector<float> & split_out) {
    ggml_backend_reg_t reg = rpc_reg();
    if (reg == nullptr) {
        return { codes::UNAVAILABLE, "this build of persona-steer has no RPC backend (build with PERSONA_STEER_RPC=1; docs/distributed.md)" };
    }
    using add_server_t = ggml_backend_reg_t (*)(const char *);
    auto add_server = (add_server_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_rpc_add_server");
    if (add_server == nullptr) return { codes::UNAVAILABLE, "ggml's RPC backend has no ggml_backend_rpc_add_server" };
    devices.clear();
    for (const std::string & ep : endpoints) {
        bool first;
        {
            std::lock_guard<std::mutex> lock(g_mutex);
            first = g_used.count(ep) == 0;
        }
        if (first) {
            // ggml_backend_rpc_add_server aborts the process on a refused connection or a failed
            // handshake; a probe first turns those into errors. Later loads reuse ggml's registry.
            RpcError e = rpc_probe(ep, timeout_ms);
            if (!e.code.empty()) return e;
        }
        ggml_backend_reg_t server = add_server(ep.c_str());
        if (server == nullptr) return { codes::RPC_CONNECT, "RPC server " + ep + " reports no devices" };
        {
            std::lock_guard<std::mutex> lock(g_mutex);
            if (g_used.insert(ep).second) g_used_list += (g_used_list.empty() ? "" : ", ") + ep;
        }
        for (size_t i = 0; i < ggml_backend_reg_dev_count(server); i++) devices.push_back(ggml_backend_reg_dev_get(server, i));
    }
    // Local GPUs after the servers, as llama.cpp orders them (RPC first, fewer transfers).
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        const auto t = ggml_backend_dev_type(d);
        if (t == GGML_BACKEND_DEVICE_TYPE_GPU || t == GGML_BACKEND_DEVICE_TYPE_IGPU) devices.push_back(d);
    }
    split_out.clear();
    if (!tensor_split.empty()) {
        if (tensor_split.size() != devices.size()) {
            return { codes::INVALID_ARG, "options.tensorSplit: expected one proportion per device (" + std::to_string(devices.size()) +
                ": the RPC servers' devices in order, then local GPUs), received " + std::to_string(tensor_split.size()) };
        }
        split_out = tensor_split;
    }
    return {};
}

void rpc_install_abort_message() {
    add_abort_note(rpc_abort_note);
}

std::string rpc_start_server(const std::string & endpoint, int n_threads) {
    ggml_backend_reg_t reg = rpc_reg();
    if (reg == nullptr) return "this build of persona-steer has no RPC backend (build with PERSONA_STEER_RPC=1)";
    using start_t = void (*)(const char *, const char *, size_t, size_t, ggml_backend_dev_t *);
    auto start = (start_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_rpc_start_server");
    if (start == nullptr) return "ggml's RPC backend has no ggml_backend_rpc_start_server";
    std::string host, port;
    if (!split_endpoint(endpoint, host, port)) return "expected host:port, received " + endpoint;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        if (g_server_started) return "an rpc-server already runs in this process";
        g_server_started = true;
    }
    // The GPUs when there are any (as upstream's rpc-server), else the CPU.
    std::vector<ggml_backend_dev_t> devs;
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        const auto t = ggml_backend_dev_type(d);
        if ((t == GGML_BACKEND_DEVICE_TYPE_GPU || t == GGML_BACKEND_DEVICE_TYPE_IGPU) && ggml_backend_dev_backend_reg(d) != reg) devs.push_back(d);
    }
    if (devs.empty()) {
        ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
        if (cpu == nullptr) return "no CPU device";
        devs.push_back(cpu);
    }
    // ggml's server loop never returns while it can accept: a thread of its own until exit.
    std::thread([start, endpoint, n_threads, devs]() mutable {
        start(endpoint.c_str(), nullptr, (size_t) n_threads, devs.size(), devs.data());
        std::fprintf(stderr, "persona-steer rpc-server: the server on %s stopped (see the message above)\n", endpoint.c_str());
        std::fflush(stderr);
        std::_Exit(1);
    }).detach();
    return {};
}

}  // namespace ps
