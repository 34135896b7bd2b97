package io.krill.wagi;

import io.krill.engine.EngineException;
import io.krill.engine.Guest;
import io.krill.engine.GuestIo;
import io.krill.engine.GuestResult;
import io.krill.engine.Program;
import io.krill.os.GuestOutputs;
import io.krill.runtime.RequestService;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One container in the instance-per-request shape, as its guest: {@link #run()} serves HTTP on the
 * container's listener until SIGKILL ({@link #interrupt()}) or, after SIGTERM ({@link
 * #terminateGracefully()}), until the requests in flight are done. Each request runs a fresh
 * instance of its route's compiled module on a bounded pool (its own thread, 8 MiB of stack), with
 * its CGI environment, its body as stdin and its stdout in memory; a timer stops an instance that
 * runs too long.
 */
final class WagiServer implements Guest {
  private static final System.Logger LOG = System.getLogger("krill.wagi");
  private static final long STACK_BYTES = 8L << 20;
  private static final int QUEUED = 1024;

  private final RequestService service;
  private final WagiSettings settings;
  private final EventLoopGroup loops;
  private final ThreadPoolExecutor pool;
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final CountDownLatch done = new CountDownLatch(1);
  private final AtomicInteger inFlight = new AtomicInteger();

  /**
   * Connections with a request begun (some of it received) and not answered yet: after SIGTERM they
   * are served like the requests in flight, and the drain waits for them.
   */
  private final AtomicInteger begun = new AtomicInteger();

  private final GuestOutputs outputs = new GuestOutputs();
  private volatile boolean stopping;

  /** SIGKILL: a request waiting for an instance gets none. */
  private volatile boolean killed;

  private volatile Channel server;
  private volatile AccessLog accessLog;
  private volatile WritableByteChannel guestStderr;

  WagiServer(RequestService service, WagiSettings settings, EventLoopGroup loops) {
    this.service = service;
    this.settings = settings;
    this.loops = loops;
    AtomicInteger n = new AtomicInteger();
    this.pool =
        new ThreadPoolExecutor(
            settings.concurrency(),
            settings.concurrency(),
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(QUEUED),
            r -> {
              Thread t =
                  new Thread(
                      null,
                      r,
                      "wagi-" + service.containerId() + "-" + n.incrementAndGet(),
                      STACK_BYTES);
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true);
  }

  @Override
  public GuestResult run() {
    try {
      WritableByteChannel out = outputs.stdout(service.stdout());
      accessLog = out == null ? null : new AccessLog(out);
      WritableByteChannel err = outputs.stderr(service.stderr());
      guestStderr = err == null ? null : new SharedOutput(err);
      NioServerSocketChannel channel = new NioServerSocketChannel(service.listener());
      ServerBootstrap b =
          new ServerBootstrap()
              .group(loops)
              .channelFactory(() -> channel)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      connections.add(ch);
                      ch.pipeline()
                          .addLast(
                              new Begun(),
                              new HttpServerCodec(8192, settings.maxHeaderBytes(), 8192),
                              new BoundedBodies((int) settings.maxBodyBytes()),
                              new Connection());
                    }
                  });
      b.register().syncUninterruptibly();
      server = channel;
      if (stopping) {
        channel.close();
      }
      LOG.log(
          Level.INFO,
          "container {0}: serving HTTP on {1}, an instance per request ({2} at once, {3} ms each)",
          service.containerId(),
          String.valueOf(localAddress()),
          String.valueOf(settings.concurrency()),
          String.valueOf(settings.timeoutMillis()));
      done.await();
      return new GuestResult.Interrupted();
    } catch (IOException e) {
      return new GuestResult.Trapped(
          "container "
              + service.containerId()
              + ": cannot open its stdout or stderr ("
              + e
              + "); check the stdio paths containerd was given");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new GuestResult.Interrupted();
    } finally {
      stopServing();
      connections.close();
      pool.shutdownNow();
      try {
        // Interrupted instances end at their next loop or WASI call; the compiled code they run
        // must not be freed (close) before.
        if (pool.awaitTermination(10, TimeUnit.SECONDS)) {
          AccessLog log = accessLog;
          if (log != null) {
            log.flush(); // lines the event loop left to the pool
          }
        } else {
          LOG.log(
              Level.WARNING,
              "container {0}: instances still running 10 s after the stop; their compiled code is"
                  + " kept until the daemon restarts",
              service.containerId());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      outputs.linger();
    }
  }

  private InetSocketAddress localAddress() {
    try {
      return (InetSocketAddress) service.listener().getLocalAddress();
    } catch (IOException e) {
      return null;
    }
  }

  private void stopServing() {
    stopping = true;
    Channel s = server;
    if (s != null) {
      s.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
    }
  }

  /**
   * SIGTERM: stop accepting, let the requests in flight finish (within their timeout), and those
   * begun on connections accepted before (within the read timeout, then theirs), answered with
   * {@code Connection: close}; then end, closing the idle connections.
   */
  @Override
  public boolean terminateGracefully() {
    if (stopping) {
      return true;
    }
    stopServing();
    Thread t =
        new Thread(
            () -> {
              long deadline =
                  System.nanoTime()
                      + (settings.requestReadMillis() + settings.timeoutMillis() + 2000)
                          * 1_000_000;
              while ((inFlight.get() > 0 || begun.get() > 0) && System.nanoTime() < deadline) {
                try {
                  Thread.sleep(10);
                } catch (InterruptedException e) {
                  break;
                }
              }
              if (inFlight.get() > 0) {
                interruptGuests();
              }
              connections.close();
              done.countDown();
            },
            "wagi-drain-" + service.containerId());
    t.setDaemon(true);
    t.start();
    return true;
  }

  /** SIGKILL: every instance is stopped, every connection closed. */
  @Override
  public void interrupt() {
    killed = true;
    stopping = true;
    Channel s = server;
    if (s != null) {
      s.close();
    }
    interruptGuests();
    connections.close();
    outputs.closeNow();
    done.countDown();
  }

  private void interruptGuests() {
    distinctPrograms().forEach(Program::interruptAll);
  }

  private List<Program> distinctPrograms() {
    Map<Program, Boolean> seen = new IdentityHashMap<>();
    List<Program> out = new ArrayList<>();
    for (RequestService.Route r : service.routes()) {
      if (seen.put(r.program(), Boolean.TRUE) == null) {
        out.add(r.program());
      }
    }
    return out;
  }

  @Override
  public long linearMemoryBytes() {
    return 0;
  }

  @Override
  public void close() {
    if (pool.isTerminated() || pool.getActiveCount() == 0 && pool.getQueue().isEmpty()) {
      distinctPrograms().forEach(Program::close);
    }
    try {
      service.listener().close();
    } catch (IOException ignored) {
      // already closed with the server channel
    }
  }

  /** A response with this status and a one-line plain-text reason. */
  private static FullHttpResponse plain(HttpResponseStatus status, String text) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            status,
            Unpooled.copiedBuffer(text + "\n", StandardCharsets.UTF_8));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    return r;
  }

  private void accessLog(String method, String uri, int status, long startNanos) {
    AccessLog log = accessLog;
    if (log != null) {
      log.log(method, uri, status, startNanos);
    }
  }

  /** On the event loop: the line is written by the container's pool, never by the loop itself. */
  private void accessLogLater(String method, String uri, int status, long startNanos) {
    AccessLog log = accessLog;
    if (log != null) {
      log.logLater(method, uri, status, startNanos, pool);
    }
  }

  /** A failed request on the container's stderr and in the daemon's log, naming the container. */
  private void reportFailure(String method, String uri, int status, String reason) {
    LOG.log(
        Level.INFO,
        "container {0}: {1} {2}: {3} {4}",
        service.containerId(),
        method,
        uri,
        String.valueOf(status),
        reason);
    WritableByteChannel err = guestStderr;
    if (err != null) {
      String line =
          "krill: container "
              + service.containerId()
              + ": "
              + method
              + " "
              + uri
              + ": "
              + status
              + " "
              + reason
              + "\n";
      try {
        err.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
      } catch (IOException ignored) {
        // SharedOutput never throws
      }
    }
  }

  /**
   * Counts the connection in {@link #begun} from the first bytes of a request until its response is
   * written or the connection closes (on the connection's event loop, as everything of it).
   */
  private final class Begun extends ChannelInboundHandlerAdapter {
    private boolean open;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!open && msg instanceof ByteBuf b && b.isReadable()) {
        open = true;
        begun.incrementAndGet();
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      answered();
      ctx.fireChannelInactive();
    }

    void answered() {
      if (open) {
        open = false;
        begun.decrementAndGet();
      }
    }
  }

  /** Bodies aggregated up to the limit; a larger one is answered 413 and logged, then closed. */
  private final class BoundedBodies extends HttpObjectAggregator {
    BoundedBodies(int maxBodyBytes) {
      super(maxBodyBytes);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      String method = oversized instanceof HttpRequest r ? r.method().name() : "-";
      String uri = oversized instanceof HttpRequest r ? r.uri() : "-";
      FullHttpResponse resp =
          plain(
              HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
              "request body larger than " + settings.maxBodyBytes() + " bytes");
      resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      HttpUtil.setContentLength(resp, resp.content().readableBytes());
      accessLogLater(method, uri, 413, System.nanoTime());
      ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /**
   * One connection: requests one at a time (reading stops while one is served), each within {@link
   * WagiSettings#requestReadMillis()} of the connection's start or its previous response, else 408.
   */
  private final class Connection extends SimpleChannelInboundHandler<FullHttpRequest> {
    private ScheduledFuture<?> deadline;

    /** Answered 408 and closing: what the decoder makes of the partial request is dropped. */
    private boolean expired;

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      arm(ctx);
      super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      disarm();
      super.channelInactive(ctx);
    }

    private void arm(ChannelHandlerContext ctx) {
      disarm();
      deadline =
          ctx.executor()
              .schedule(
                  () -> {
                    expired = true;
                    accessLogLater("-", "-", 408, System.nanoTime());
                    FullHttpResponse r =
                        plain(
                            HttpResponseStatus.REQUEST_TIMEOUT,
                            "no complete request within " + settings.requestReadMillis() + " ms");
                    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                    HttpUtil.setContentLength(r, r.content().readableBytes());
                    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
                  },
                  settings.requestReadMillis(),
                  TimeUnit.MILLISECONDS);
    }

    private void disarm() {
      if (deadline != null) {
        deadline.cancel(false);
        deadline = null;
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      disarm();
      if (expired || !ctx.channel().isActive()) {
        return;
      }
      long start = System.nanoTime();
      String method = req.method().name();
      String uri = req.uri();
      if (!req.decoderResult().isSuccess()) {
        Throwable cause = req.decoderResult().cause();
        HttpResponseStatus status =
            cause instanceof TooLongHttpLineException
                ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                : cause instanceof TooLongFrameException
                    ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : HttpResponseStatus.BAD_REQUEST;
        String why =
            status == HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                ? "request headers larger than " + settings.maxHeaderBytes() + " bytes"
                : status == HttpResponseStatus.REQUEST_URI_TOO_LONG
                    ? "request line too long"
                    : "malformed request";
        respond(ctx, plain(status, why), false, method, uri, start, true);
        return;
      }
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      Cgi.Request request = cgiRequest(ctx, req);
      ctx.channel().config().setAutoRead(false);
      inFlight.incrementAndGet();
      try {
        pool.execute(
            () -> {
              FullHttpResponse r;
              try {
                r = handle(request);
              } catch (RuntimeException e) {
                reportFailure(method, uri, 500, "krill internal error: " + e);
                r = plain(HttpResponseStatus.INTERNAL_SERVER_ERROR, "krill internal error");
              } finally {
                inFlight.decrementAndGet();
              }
              // logged here, where several instances' lines can go out in one write
              accessLog(method, uri, r.status().code(), start);
              FullHttpResponse response = r;
              ctx.executor()
                  .execute(() -> respond(ctx, response, keepAlive, method, uri, start, false));
            });
      } catch (RejectedExecutionException e) {
        inFlight.decrementAndGet();
        respond(
            ctx,
            plain(
                HttpResponseStatus.SERVICE_UNAVAILABLE,
                "too many requests waiting; try again later"),
            false,
            method,
            uri,
            start,
            true);
      }
    }

    /**
     * On the event loop: writes the response, logs it (unless {@code log} is false: its line is in
     * the access log already), reads the next request or closes.
     */
    private void respond(
        ChannelHandlerContext ctx,
        FullHttpResponse r,
        boolean keepAlive,
        String method,
        String uri,
        long start,
        boolean log) {
      boolean keep = keepAlive && !stopping;
      HttpUtil.setContentLength(r, r.content().readableBytes());
      if (!keep) {
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      } else {
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
      }
      if (log) {
        accessLogLater(method, uri, r.status().code(), start);
      }
      Begun b = ctx.pipeline().get(Begun.class);
      if (b != null) {
        b.answered();
      }
      if (keep) {
        ctx.writeAndFlush(r)
            .addListener(
                f -> {
                  if (f.isSuccess()) {
                    arm(ctx);
                    ctx.channel().config().setAutoRead(true);
                  } else {
                    ctx.close();
                  }
                });
      } else {
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
      }
    }
  }

  private Cgi.Request cgiRequest(ChannelHandlerContext ctx, FullHttpRequest req) {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    req.headers().forEach(headers::add);
    InetSocketAddress remote = (InetSocketAddress) ctx.channel().remoteAddress();
    InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
    String host = req.headers().get(HttpHeaderNames.HOST);
    String serverName = local.getAddress().getHostAddress();
    if (host != null && !host.isEmpty()) {
      int colon = host.lastIndexOf(':');
      serverName = colon > 0 && !host.endsWith("]") ? host.substring(0, colon) : host;
    }
    return new Cgi.Request(
        req.method().name(),
        req.uri(),
        req.protocolVersion().text(),
        headers,
        ByteBufUtil.getBytes(req.content()),
        remote.getAddress().getHostAddress(),
        serverName,
        local.getPort());
  }

  /** On a pool thread: one request through a fresh instance of its route's module. */
  private FullHttpResponse handle(Cgi.Request req) {
    String path = Cgi.rawPath(req.uri());
    Optional<Routes.Match> match = Routes.match(service.routes(), path);
    if (match.isEmpty()) {
      return plain(HttpResponseStatus.NOT_FOUND, "no route for " + path);
    }
    RequestService.Route route = match.get().route();
    if (killed) {
      return plain(HttpResponseStatus.SERVICE_UNAVAILABLE, "the container is stopping");
    }
    BoundedOutput stdout = new BoundedOutput(settings.maxResponseBytes());
    Guest guest =
        route
            .program()
            .instantiate(
                Cgi.args(route.modulePath(), Cgi.query(req.uri())),
                Cgi.env(service.env(), req, match.get()),
                new GuestIo(req.body(), stdout, guestStderr));
    AtomicInteger timedOut = new AtomicInteger();
    java.util.concurrent.Future<?> timer =
        loops
            .next()
            .schedule(
                () -> {
                  timedOut.set(1);
                  guest.interrupt();
                },
                settings.timeoutMillis(),
                TimeUnit.MILLISECONDS);
    GuestResult result;
    boolean oom;
    long started = System.nanoTime();
    try {
      result = guest.run();
      oom = guest.memoryExhausted();
    } finally {
      timer.cancel(false);
      guest.close();
    }
    String failure = null;
    HttpResponseStatus status = HttpResponseStatus.INTERNAL_SERVER_ERROR;
    boolean late = System.nanoTime() - started >= settings.timeoutMillis() * 1_000_000;
    if (timedOut.get() == 1 || late && !(result instanceof GuestResult.Exited)) {
      status = HttpResponseStatus.GATEWAY_TIMEOUT;
      failure = "the guest ran longer than " + settings.timeoutMillis() + " ms";
    } else if (stdout.overflowed()) {
      failure = "the guest wrote more than " + settings.maxResponseBytes() + " bytes";
    } else if (result instanceof GuestResult.Trapped t) {
      failure =
          oom
              ? "out of memory: the instance reached the container's memory limit"
              : EngineException.firstLine(t.message());
    } else if (result instanceof GuestResult.Interrupted) {
      status = HttpResponseStatus.SERVICE_UNAVAILABLE;
      failure = "the container is stopping";
    } else if (result instanceof GuestResult.Exited e && e.code() != 0) {
      failure =
          oom
              ? "out of memory: the instance reached the container's memory limit"
              : "the guest exited with status " + e.code();
    }
    if (failure == null) {
      try {
        Cgi.Response r = Cgi.parse(stdout.toByteArray());
        FullHttpResponse out =
            new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1,
                r.reason() == null
                    ? HttpResponseStatus.valueOf(r.status())
                    : new HttpResponseStatus(r.status(), r.reason()),
                Unpooled.wrappedBuffer(r.body()));
        for (Map.Entry<String, String> h : r.headers()) {
          out.headers().add(h.getKey(), h.getValue());
        }
        return out;
      } catch (Cgi.MalformedResponse e) {
        failure = "malformed CGI response: " + e.getMessage();
      } catch (IllegalArgumentException e) {
        failure = "malformed CGI response: " + e.getMessage();
      }
    }
    reportFailure(req.method(), req.uri(), status.code(), failure);
    return plain(status, failure);
  }
}
