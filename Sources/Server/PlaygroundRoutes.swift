import CEmbedded
import Hummingbird
import NIOCore

/// The web playground (`Playground/` in the repository, compiled in) at `/`: static files on the
/// API's own origin, so the page calls the same endpoints as any client and needs no CORS; loading
/// it needs no key (the page asks for one and sends it with each API call).
enum PlaygroundRoutes {
    /// Nothing from other origins; the page's audio worklet is loaded from a Blob URL and its
    /// spectrogram PNGs are data URLs.
    static let securityPolicy =
        "default-src 'self'; script-src 'self' blob:; connect-src 'self'; media-src 'self' blob:; "
        + "img-src 'self' data: blob:; frame-ancestors 'none'"

    static func add(to router: Router<BasicRequestContext>) {
        let files = [
            ("/", mk_playground_index_html(), "text/html; charset=utf-8"),
            ("/app.js", mk_playground_app_js(), "text/javascript; charset=utf-8"),
            ("/style.css", mk_playground_style_css(), "text/css; charset=utf-8"),
        ]
        for (path, file, type) in files {
            let body = ByteBuffer(bytes: UnsafeBufferPointer(start: file.bytes, count: file.count))
            let headers: HTTPFields = [
                .contentType: type, .cacheControl: "no-cache", .contentSecurityPolicy: securityPolicy,
                .xContentTypeOptions: "nosniff",
            ]
            router.get(RouterPath(path)) { _, _ in
                Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
            }
        }
    }
}
