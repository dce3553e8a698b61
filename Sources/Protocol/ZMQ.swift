import CLibZMQ
import Foundation

public struct ZMQError: Error, CustomStringConvertible {
    public let code: Int32
    public let description: String
    init(_ what: String) {
        code = zmq_errno()
        description = "\(what): \(String(cString: zmq_strerror(code)))"
    }
}

/// A ZeroMQ context: one per process; inproc:// endpoints only connect sockets of one context.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init() {
        handle = zmq_ctx_new()
    }

    deinit { zmq_ctx_term(handle) }

    /// zmq_ctx_shutdown: every blocking call on this context's sockets returns ETERM.
    public func shutdown() { zmq_ctx_shutdown(handle) }
}

/// A ZeroMQ socket, multipart frames as Data. Not thread-safe: each socket lives on one thread.
public final class ZMQSocket: @unchecked Sendable {
    public enum Kind: Int32 { case dealer = 5, router = 6 }
    let handle: UnsafeMutableRawPointer
    public let context: ZMQContext
    private var closed = false

    public init(_ context: ZMQContext, _ kind: Kind) throws {
        guard let h = zmq_socket(context.handle, kind.rawValue) else { throw ZMQError("zmq_socket") }
        self.context = context
        handle = h
        try setInt(ZMQ_LINGER, 0)  // never hang at exit on undelivered messages
    }

    deinit { close() }

    public func close() {
        if !closed { zmq_close(handle); closed = true }
    }

    public func setInt(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else { throw ZMQError("zmq_setsockopt \(option)") }
    }

    public func setInt64(_ option: Int32, _ value: Int64) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else { throw ZMQError("zmq_setsockopt \(option)") }
    }

    public func setRoutingID(_ id: Data) throws {
        try id.withUnsafeBytes { p in
            guard zmq_setsockopt(handle, ZMQ_ROUTING_ID, p.baseAddress, id.count) == 0 else { throw ZMQError("zmq_setsockopt ROUTING_ID") }
        }
    }

    /// Largest message accepted; a peer sending more is disconnected (bounded memory).
    public func setMaxMessageSize(_ bytes: Int64) throws { try setInt64(ZMQ_MAXMSGSIZE, bytes) }

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("cannot bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("cannot connect to \(endpoint)") }
    }

    /// The endpoint actually bound (resolves tcp://127.0.0.1:* to its port).
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        return String(cString: buffer)
    }

    /// Sends one multipart message. Returns false when it would block (with `dontWait`).
    @discardableResult
    public func send(_ frames: [Data], dontWait: Bool = false) throws -> Bool {
        for (i, frame) in frames.enumerated() {
            var flags: Int32 = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            let rc = frame.withUnsafeBytes { p -> Int32 in
                zmq_send(handle, p.baseAddress, frame.count, flags)
            }
            if rc < 0 {
                if zmq_errno() == EAGAIN && dontWait && i == 0 { return false }
                throw ZMQError("zmq_send")
            }
        }
        return true
    }

    /// Receives one multipart message, waiting at most `timeoutMs` (nil: forever).
    /// Returns nil on timeout.
    public func receive(timeoutMs: Int? = nil) throws -> [Data]? {
        if let timeoutMs {
            guard try poll(timeoutMs: timeoutMs) else { return nil }
        }
        var frames: [Data] = []
        repeat {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            guard zmq_msg_recv(&msg, handle, 0) >= 0 else { throw ZMQError("zmq_msg_recv") }
            let size = zmq_msg_size(&msg)
            frames.append(size == 0 ? Data() : Data(bytes: zmq_msg_data(&msg), count: size))
            if zmq_msg_more(&msg) == 0 { break }
        } while true
        return frames
    }

    /// True when a message is waiting (within `timeoutMs`).
    public func poll(timeoutMs: Int) throws -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let rc = zmq_poll(&item, 1, timeoutMs)
        if rc < 0 {
            if zmq_errno() == EINTR { return false }
            throw ZMQError("zmq_poll")
        }
        return rc > 0
    }
}
