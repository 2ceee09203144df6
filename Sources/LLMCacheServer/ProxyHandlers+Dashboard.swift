import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /dashboard`: the page compiled into the binary (``DashboardPage``),
/// which reads the admin API with the token its user types in.
///
/// The page needs no token: it holds no figures, and every figure comes from
/// the admin API, which does. Its policy lets it run only its own inline
/// script and style and fetch only from this proxy, so a figure that carries
/// a client's text (a semantic hit's prompt) cannot load or send anything.
extension ProxyHandlers {
    static let dashboardHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .contentSecurityPolicy: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
        .xContentTypeOptions: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    func registerDashboard(on router: Router<BasicRequestContext>) {
        // Encoded once: the page is the same for every request.
        let page = ByteBuffer(string: DashboardPage.html)
        // The router takes `/dashboard/` to this route too.
        router.get("/dashboard") { _, _ in
            Response(status: .ok, headers: Self.dashboardHeaders, body: ResponseBody(byteBuffer: page))
        }
    }
}
