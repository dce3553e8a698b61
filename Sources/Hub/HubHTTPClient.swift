import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP answer: status, headers (names lower-cased) and the URL that gave it.
public struct HubResponse: Equatable, Sendable {
    public var status: Int
    public var headers: [String: String]
    public var url: URL

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
    public var isRedirect: Bool { [301, 302, 303, 307, 308].contains(status) }
}

/// How a request ended when it did not produce an HTTP answer, or produced one mid-body.
public enum HubTransportError: Error, Sendable {
    /// No answer at all: connection refused, DNS failure, timeout before the headers.
    case unreachable(String)
    /// The answer's body stopped before its end (connection dropped, stalled).
    case interrupted(String)
    /// The sink refused the body or could not store it (disk full, unexpected Content-Range).
    case sinkFailed(HubError)
}

/// Blocking HEAD and GET over Foundation's URLSession (libcurl on Linux), with the control
/// the hub protocol needs: a HEAD that does not follow redirects (the 302's headers carry the
/// metadata), and a GET that streams into a file from an offset with `Range`.
public struct HubHTTPClient: Sendable {
    public var userAgent = "winclip-cluster/1 (huggingface_hub-compatible; swift-foundation)"

    public init() {}

    /// HEAD `url`, following redirects that stay on its origin (a renamed repository), as
    /// huggingface_hub does; a redirect to another origin (the CDN) is returned as is: the file's
    /// metadata is on that answer, and the token must not leave the hub.
    public func head(_ url: URL, headers: [String: String], timeout: Double) throws(HubTransportError) -> HubResponse {
        var current = url
        for _ in 0..<20 {
            let transfer = Transfer(followRedirects: false, sink: nil)
            let response = try run(transfer, request(current, method: "HEAD", headers: headers, timeout: timeout), timeout: timeout)
            guard response.isRedirect, let location = response.header("Location"),
                  let next = URL(string: location, relativeTo: current)?.absoluteURL,
                  Self.origin(next) == Self.origin(current) else { return response }
            current = next
        }
        throw .unreachable("too many redirects from \(url.absoluteString)")
    }

    /// (scheme, host, port) with the scheme's default port: what "the same server" means.
    public static func origin(_ url: URL) -> String {
        let scheme = url.scheme?.lowercased() ?? ""
        let port = url.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : 0)
        return "\(scheme)://\(url.host?.lowercased() ?? ""):\(port)"
    }

    /// GET `url` into `sink`, asking for bytes from `offset` on with `Range` when it is > 0.
    /// Redirects are followed; `authorization` is dropped when one leaves `url`'s origin.
    /// Returns the final answer; the body is written only for 200 and 206.
    public func get(_ url: URL, headers: [String: String], offset: Int64, timeout: Double, sink: DownloadSink) throws(HubTransportError) -> HubResponse {
        var headers = headers
        if offset > 0 { headers["Range"] = "bytes=\(offset)-" }
        let transfer = Transfer(followRedirects: true, sink: sink)
        return try run(transfer, request(url, method: "GET", headers: headers, timeout: timeout), timeout: timeout)
    }

    func request(_ url: URL, method: String, headers: [String: String], timeout: Double) -> URLRequest {
        var r = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        r.httpMethod = method
        r.setValue(userAgent, forHTTPHeaderField: "User-Agent")
        // The real size and byte offsets: no transparent compression.
        r.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        return r
    }

    func run(_ transfer: Transfer, _ request: URLRequest, timeout: Double) throws(HubTransportError) -> HubResponse {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.urlCache = nil
        configuration.httpShouldSetCookies = false
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: transfer, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        transfer.originalOrigin = request.url.map(Self.origin)
        session.dataTask(with: request).resume()
        transfer.done.wait()
        return try transfer.outcome()
    }
}

/// Where a GET's body goes, told when the answer starts (so it can truncate on a 200 after a
/// Range request) and for every chunk. Called on URLSession's delegate queue, one call at a time.
public protocol DownloadSink: AnyObject, Sendable {
    /// The answer's status and headers, before any chunk; throw to refuse the body.
    func begin(_ response: HubResponse) throws(HubError)
    func write(_ chunk: Data) throws(HubError)
}

/// One URLSession task's delegate. Its mutable state is written only on the session's serial
/// delegate queue and read by the caller after `done` is signalled by the completion callback,
/// which orders every write before every read; the lock makes that explicit for the checker.
final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let followRedirects: Bool
    let sink: DownloadSink?
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    var originalOrigin: String?
    private var response: HubResponse?
    private var failure: String?
    private var sinkError: HubError?
    private var bodyStarted = false

    init(followRedirects: Bool, sink: DownloadSink?) {
        self.followRedirects = followRedirects
        self.sink = sink
    }

    func outcome() throws(HubTransportError) -> HubResponse {
        lock.lock()
        defer { lock.unlock() }
        if let sinkError { throw .sinkFailed(sinkError) }
        if let failure {
            throw bodyStarted ? .interrupted(failure) : .unreachable(failure)
        }
        guard let response else { throw .unreachable("no answer") }
        return response
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        guard followRedirects else { return completionHandler(nil) }
        var next = request
        // A signed CDN URL must not receive the hub token (huggingface_hub drops it too).
        if next.url.map(HubHTTPClient.origin) != originalOrigin { next.setValue(nil, forHTTPHeaderField: "Authorization") }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else { return completionHandler(.cancel) }
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
        }
        let answer = HubResponse(status: http.statusCode, headers: headers, url: http.url ?? response.url ?? URL(fileURLWithPath: "/"))
        lock.lock()
        self.response = answer
        lock.unlock()
        if let sink, answer.status == 200 || answer.status == 206 {
            do { try sink.begin(answer) } catch {
                lock.lock()
                sinkError = error
                lock.unlock()
                return completionHandler(.cancel)
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        bodyStarted = true
        let status = response?.status ?? 0
        let failed = sinkError != nil
        lock.unlock()
        guard let sink, !failed, status == 200 || status == 206 else { return }
        do { try sink.write(data) } catch {
            lock.lock()
            sinkError = error
            lock.unlock()
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        if let error, sinkError == nil {
            failure = (error as? URLError).map { "\($0.localizedDescription) (URLError \($0.code.rawValue))" } ?? error.localizedDescription
            if response != nil { bodyStarted = true }
        }
        lock.unlock()
        done.signal()
    }
}
