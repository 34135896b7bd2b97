package io.krill.cri.streaming;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyVersion;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;

/**
 * The HTTP/1.1 side of a streaming URL: checks the path and token, negotiates the remote command or
 * port forward protocol, answers 101 Switching Protocols and hands the connection to a {@link
 * SpdySession} (exec, attach) or a {@link PortForwardSession}. Anything else gets a plain text
 * error that says what to do, and the connection is closed.
 */
final class UpgradeFront extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final System.Logger LOG = System.getLogger("krill.cri");
  private static final String SPDY = "SPDY/3.1";

  private final RequestCache requests;
  private final ExecutorService sessions;

  UpgradeFront(RequestCache requests, ExecutorService sessions) {
    this.requests = requests;
    this.sessions = sessions;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.POST)) {
      reject(
          ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "use GET or POST with an upgrade to " + SPDY);
      return;
    }
    String path = req.uri();
    int q = path.indexOf('?');
    if (q >= 0) {
      path = path.substring(0, q);
    }
    String[] parts = path.split("/");
    if (parts.length != 3 || !parts[0].isEmpty()) {
      reject(
          ctx,
          HttpResponseStatus.NOT_FOUND,
          "no such streaming path "
              + path
              + "; streaming URLs come from the CRI Exec, Attach and PortForward calls");
      return;
    }
    Issued pending = requests.peek(parts[2]);
    if (pending == null || !pending.path().equals(parts[1])) {
      reject(
          ctx,
          HttpResponseStatus.NOT_FOUND,
          "unknown or expired streaming URL "
              + path
              + ": a URL serves one"
              + " connection within a minute of the Exec, Attach or PortForward call that made it;"
              + " ask for a new one");
      return;
    }
    String upgrade = req.headers().get(HttpHeaderNames.UPGRADE, "").toLowerCase(Locale.ROOT);
    String connection = req.headers().get(HttpHeaderNames.CONNECTION, "").toLowerCase(Locale.ROOT);
    if (pending instanceof ForwardRequest f && upgrade.equals("websocket")) {
      String sub =
          WebSocketForwardSession.negotiate(
              req.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL));
      // Other subprotocols (kubectl's SPDY tunnel) get the 400 below, and fall back to SPDY.
      if (sub != null) {
        webSocket(ctx, req, parts[2], f, sub);
        return;
      }
    }
    if (!upgrade.contains(SPDY.toLowerCase(Locale.ROOT)) || !connection.contains("upgrade")) {
      // A WebSocket client (kubectl 1.30+ tries one first) falls back to SPDY on this answer.
      reject(
          ctx,
          HttpResponseStatus.BAD_REQUEST,
          pending.owner()
              + ": krill's streaming"
              + " server speaks "
              + SPDY
              + " (Connection: Upgrade, Upgrade: "
              + SPDY
              + "), not '"
              + upgrade
              + "'");
      return;
    }
    boolean forward = pending instanceof ForwardRequest;
    List<String> offered = req.headers().getAll(RemoteCommand.PROTOCOL_HEADER);
    String protocol =
        forward ? PortForwardSession.negotiate(offered) : RemoteCommand.negotiate(offered);
    if (protocol == null) {
      List<String> supported =
          forward ? List.of(PortForwardSession.PROTOCOL) : RemoteCommand.SUPPORTED;
      FullHttpResponse r =
          text(
              HttpResponseStatus.FORBIDDEN,
              pending.owner()
                  + ": none of the offered stream protocols "
                  + offered
                  + " is spoken here; use one of "
                  + supported);
      supported.forEach(p -> r.headers().add(RemoteCommand.ACCEPTED_HEADER, p));
      ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    Issued request = requests.consume(parts[2]);
    if (request == null) {
      reject(
          ctx,
          HttpResponseStatus.NOT_FOUND,
          "streaming URL " + path + " was used or expired meanwhile");
      return;
    }
    HttpResponse switching =
        new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
    switching
        .headers()
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
        .set(HttpHeaderNames.UPGRADE, SPDY);
    if (!protocol.isEmpty()) {
      switching.headers().set(RemoteCommand.PROTOCOL_HEADER, protocol);
    }
    // The response is encoded as it is written, so the HTTP codec can leave right after. The SPDY
    // handlers go in
    // first: bytes a client sent before reading the 101 are handed on by the HTTP decoder as it
    // leaves.
    ctx.writeAndFlush(switching);
    ctx.pipeline().addBefore("front", "spdy", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
    ctx.pipeline()
        .replace(
            this,
            "session",
            request instanceof StreamRequest r
                ? new SpdySession(r, RemoteCommand.version(protocol), sessions)
                : new PortForwardSession((ForwardRequest) request, sessions));
    ctx.pipeline().remove("aggregate");
    ctx.pipeline().remove("http");
    LOG.log(
        Level.DEBUG,
        "{0}: {1} stream connected ({2})",
        request.owner(),
        request.path(),
        protocol.isEmpty() ? RemoteCommand.V1 : protocol);
  }

  /** A port forward over WebSocket: one connection to each port the PortForward call named. */
  private void webSocket(
      ChannelHandlerContext ctx, FullHttpRequest req, String token, ForwardRequest f, String sub) {
    if (f.ports().isEmpty()) {
      reject(
          ctx,
          HttpResponseStatus.BAD_REQUEST,
          f.owner()
              + ": a WebSocket port forward connects to the ports named in the PortForward call,"
              + " and it named none; name them (kubelet passes the ?port= of its request) or use "
              + SPDY);
      return;
    }
    WebSocketServerHandshaker handshaker =
        new WebSocketServerHandshakerFactory(
                "ws://" + req.headers().get(HttpHeaderNames.HOST, "localhost") + req.uri(),
                WebSocketForwardSession.BINARY + "," + WebSocketForwardSession.BASE64,
                false,
                1 << 20)
            .newHandshaker(req);
    if (handshaker == null) {
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
      return;
    }
    if (requests.consume(token) == null) {
      reject(ctx, HttpResponseStatus.NOT_FOUND, "streaming URL was used or expired meanwhile");
      return;
    }
    handshaker.handshake(ctx.channel(), req);
    ctx.pipeline().replace(this, "session", new WebSocketForwardSession(f, sub, sessions));
    LOG.log(Level.DEBUG, "{0}: portforward WebSocket connected ({1})", f.owner(), sub);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.log(Level.DEBUG, "streaming connection: {0}", cause.toString());
    ctx.close();
  }

  private static void reject(ChannelHandlerContext ctx, HttpResponseStatus status, String message) {
    LOG.log(Level.INFO, "streaming request refused ({0}): {1}", status.code(), message);
    ctx.writeAndFlush(text(status, message)).addListener(ChannelFutureListener.CLOSE);
  }

  private static FullHttpResponse text(HttpResponseStatus status, String message) {
    byte[] body = (message + "\n").getBytes(StandardCharsets.UTF_8);
    FullHttpResponse r =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    return r;
  }
}
