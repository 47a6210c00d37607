import Hummingbird
import NIOCore

extension Request {
    /// The body to give `consumeWithInboundCloseHandler` once the request's body has been read from a
    /// copy of the request (as `RequestFields.read` does): an empty body that still holds the connection.
    /// Hummingbird's handler replays the body it is given, then watches the connection and calls its
    /// close handler when the client hangs up. Given the original body, already read, it never sees the
    /// body's end and traps when the client hangs up — taking the whole server down.
    var drainedBody: RequestBody {
        var copy = self
        // The setter keeps the connection's inbound stream behind the new body.
        copy.body = RequestBody(buffer: ByteBuffer())
        return copy.body
    }
}
