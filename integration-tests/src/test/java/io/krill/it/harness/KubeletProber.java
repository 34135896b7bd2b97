package io.krill.it.harness;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What kubelet's prober does to a container, from the node's network namespace, for tests where
 * there is no kubelet: one probe run ({@link #probeOnce}) and the worker's loop over runs ({@link
 * #await}).
 *
 * <p>A run, as kubelet's {@code pkg/probe/http} and {@code pkg/probe/tcp} make it:
 *
 * <ul>
 *   <li>{@code httpGet}: {@code GET http://<pod IP>:<port><path>} on a fresh connection, with
 *       {@code Host}, {@code User-Agent: kube-probe/<major>.<minor>}, {@code Accept: *}{@code /*},
 *       {@code Connection: close} (kubelet's transport keeps no connection alive) and {@code
 *       Accept-Encoding: gzip} (what Go's transport adds); the whole exchange, connect to the
 *       response's body, within {@code timeoutSeconds}; success iff {@code 200 <= status < 400};
 *       the body is read up to 10 KiB (more is not an error). A redirect to the same host is
 *       followed (at most 10), one to another host ends the run as a success with kubelet's warning
 *       {@code Probe terminated redirects}.
 *   <li>{@code tcpSocket}: a TCP connect within {@code timeoutSeconds}, closed at once.
 * </ul>
 *
 * A failed run's {@link Outcome#output} is the text kubelet puts into its event after {@code
 * Readiness probe failed: } or {@code Liveness probe failed: } (Go's error text: {@code Get
 * "http://10.88.0.5:8080/": dial tcp 10.88.0.5:8080: connect: connection refused}, {@code ...:
 * context deadline exceeded (Client.Timeout exceeded while awaiting headers)}, {@code HTTP probe
 * failed with statuscode: 500}).
 *
 * <p>The loop, as kubelet's prober worker runs it: a run every {@code periodSeconds} (the next at
 * once when a run took longer), the result changing only after {@code successThreshold} successes
 * or {@code failureThreshold} failures in a row. A readiness probe starts as a failure (not ready),
 * a liveness probe as a success; what kubelet does when a liveness probe fails (stop the container
 * with the pod's grace period, start a new one in the same sandbox) is the test's to do.
 */
public final class KubeletProber {
  /** The kubelet version in {@code User-Agent}. */
  public static final String KUBE_VERSION = "1.31";

  /** kubelet reads at most this much of a probe's response body. */
  public static final int MAX_BODY = 10 * 1024;

  private static final int MAX_REDIRECTS = 10;
  private static final int MAX_HEADER_BYTES = 1 << 20;

  /** A run's result; kubelet's {@code probe.Warning} counts as a success. */
  public enum Result {
    SUCCESS,
    WARNING,
    FAILURE;

    public boolean ok() {
      return this != FAILURE;
    }
  }

  /** One probe run: its result, kubelet's output text for it, how long it took. */
  public record Outcome(Result result, String output, Duration took) {
    public boolean ok() {
      return result.ok();
    }

    /** The event kubelet records for a failed run of a probe of {@code kind} (Readiness, ...). */
    public String event(String kind) {
      return kind + " probe failed: " + output;
    }

    @Override
    public String toString() {
      return result + " in " + took.toMillis() + " ms: " + output;
    }
  }

  /** What a probe does: {@code httpGet} or {@code tcpSocket}. */
  public sealed interface Action permits HttpGet, TcpSocket {
    int port();
  }

  /** {@code httpGet: {path, port}} (scheme HTTP, host the pod IP). */
  public record HttpGet(String path, int port) implements Action {}

  /** {@code tcpSocket: {port}}. */
  public record TcpSocket(int port) implements Action {}

  private final Action action;
  private final int initialDelaySeconds;
  private final int timeoutSeconds;
  private final int periodSeconds;
  private final int successThreshold;
  private final int failureThreshold;

  private KubeletProber(Action action, int initial, int timeout, int period, int succ, int fail) {
    if (timeout < 1 || period < 1 || succ < 1 || fail < 1 || initial < 0) {
      throw new IllegalArgumentException("probe fields below kubelet's minimum");
    }
    this.action = action;
    this.initialDelaySeconds = initial;
    this.timeoutSeconds = timeout;
    this.periodSeconds = period;
    this.successThreshold = succ;
    this.failureThreshold = fail;
  }

  /** A probe with kubernetes' defaults: timeout 1 s, period 10 s, thresholds 1 and 3. */
  public static KubeletProber of(Action action) {
    return new KubeletProber(action, 0, 1, 10, 1, 3);
  }

  public static KubeletProber httpGet(String path, int port) {
    return of(new HttpGet(path, port));
  }

  public static KubeletProber tcpSocket(int port) {
    return of(new TcpSocket(port));
  }

  public KubeletProber initialDelaySeconds(int s) {
    return new KubeletProber(
        action, s, timeoutSeconds, periodSeconds, successThreshold, failureThreshold);
  }

  public KubeletProber timeoutSeconds(int s) {
    return new KubeletProber(
        action, initialDelaySeconds, s, periodSeconds, successThreshold, failureThreshold);
  }

  public KubeletProber periodSeconds(int s) {
    return new KubeletProber(
        action, initialDelaySeconds, timeoutSeconds, s, successThreshold, failureThreshold);
  }

  public KubeletProber successThreshold(int n) {
    return new KubeletProber(
        action, initialDelaySeconds, timeoutSeconds, periodSeconds, n, failureThreshold);
  }

  public KubeletProber failureThreshold(int n) {
    return new KubeletProber(
        action, initialDelaySeconds, timeoutSeconds, periodSeconds, successThreshold, n);
  }

  public Action action() {
    return action;
  }

  public Duration timeout() {
    return Duration.ofSeconds(timeoutSeconds);
  }

  /** One run against the pod at {@code podIp}. */
  public Outcome probeOnce(String podIp) {
    if (action instanceof HttpGet h) {
      return doHttpGet(podIp, h.port(), h.path(), timeout());
    }
    return doTcp(podIp, action.port(), timeout());
  }

  /** The runs of one {@link #await}: whether the wanted result was reached, and every run. */
  public record Verdict(boolean reached, List<Outcome> runs, Duration elapsed) {
    public Outcome last() {
      return runs.get(runs.size() - 1);
    }

    @Override
    public String toString() {
      StringBuilder b =
          new StringBuilder(
              (reached ? "reached" : "not reached") + " after " + elapsed.toMillis() + " ms:");
      runs.forEach(o -> b.append("\n  ").append(o));
      return b.toString();
    }
  }

  /**
   * Runs the probe as kubelet's worker does, from now (the container's start), until its result
   * becomes {@code wanted} ({@code successThreshold} successes or {@code failureThreshold} failures
   * in a row) or {@code budget} is over.
   */
  public Verdict await(String podIp, Result wanted, Duration budget) throws InterruptedException {
    boolean wantOk = wanted.ok();
    int threshold = wantOk ? successThreshold : failureThreshold;
    long start = System.nanoTime();
    long end = start + budget.toNanos();
    List<Outcome> runs = new ArrayList<>();
    Thread.sleep(initialDelaySeconds * 1000L);
    int inARow = 0;
    long nextTick = System.nanoTime();
    while (true) {
      Outcome o = probeOnce(podIp);
      runs.add(o);
      inARow = o.ok() == wantOk ? inARow + 1 : 0;
      if (inARow >= threshold) {
        return new Verdict(true, runs, Duration.ofNanos(System.nanoTime() - start));
      }
      nextTick += periodSeconds * 1_000_000_000L;
      long now = System.nanoTime();
      if (Math.max(now, nextTick) > end) {
        return new Verdict(false, runs, Duration.ofNanos(now - start));
      }
      if (nextTick > now) {
        Thread.sleep((nextTick - now) / 1_000_000L);
      } else {
        nextTick = now; // a run took longer than the period: the ticker fires once, at once
      }
    }
  }

  /** A tcpSocket run: {@code net.DialTimeout("tcp", ip:port, timeout)}, closed at once. */
  public static Outcome doTcp(String ip, int port, Duration timeout) {
    long start = System.nanoTime();
    String addr = hostPort(ip, port);
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(ip, port), (int) Math.max(1, timeout.toMillis()));
      return new Outcome(Result.SUCCESS, "", since(start));
    } catch (IOException e) {
      return new Outcome(Result.FAILURE, "dial tcp " + addr + ": " + dialError(e), since(start));
    }
  }

  /** An httpGet run against {@code http://ip:port/path}, all of it within {@code timeout}. */
  public static Outcome doHttpGet(String ip, int port, String path, Duration timeout) {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    URI url = URI.create("http://" + hostPort(ip, port) + path);
    for (int redirects = 0; ; redirects++) {
      String get = "Get \"" + url + "\": ";
      Response r;
      try {
        r = exchange(url, deadline);
      } catch (Failed f) {
        return new Outcome(Result.FAILURE, get + f.getMessage(), since(start));
      }
      if (r.status >= 300 && r.status < 400 && r.location != null) {
        URI next = url.resolve(r.location);
        if (!ip.equalsIgnoreCase(next.getHost())) {
          return new Outcome(
              Result.WARNING, "Probe terminated redirects, Response body: " + r.body, since(start));
        }
        if (redirects + 1 >= MAX_REDIRECTS) {
          return new Outcome(
              Result.FAILURE,
              "Get \"" + next + "\": stopped after " + MAX_REDIRECTS + " redirects",
              since(start));
        }
        url = next;
        continue;
      }
      if (r.status >= 200 && r.status < 400) {
        return new Outcome(Result.SUCCESS, r.body, since(start));
      }
      return new Outcome(
          Result.FAILURE, "HTTP probe failed with statuscode: " + r.status, since(start));
    }
  }

  private record Response(int status, String location, String body) {}

  /** A run's failure, with Go's error text (after {@code Get "url": }). */
  private static final class Failed extends Exception {
    Failed(String message) {
      super(message, null, false, false);
    }
  }

  private static Response exchange(URI url, long deadline) throws Failed {
    String host = url.getHost();
    int port = url.getPort() < 0 ? 80 : url.getPort();
    String target =
        (url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath())
            + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
    String awaitingHeaders =
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
    try (Socket s = new Socket()) {
      try {
        s.connect(new InetSocketAddress(host, port), remainingMillis(deadline, awaitingHeaders));
      } catch (IOException e) {
        if (e instanceof SocketTimeoutException) {
          throw new Failed(awaitingHeaders);
        }
        throw new Failed("dial tcp " + hostPort(host, port) + ": " + dialError(e));
      }
      String local = s.getLocalAddress().getHostAddress() + ":" + s.getLocalPort();
      String conn = "tcp " + local + "->" + hostPort(host, port);
      String request =
          "GET "
              + target
              + " HTTP/1.1\r\n"
              + "Host: "
              + hostPort(host, port)
              + "\r\n"
              + "User-Agent: kube-probe/"
              + KUBE_VERSION
              + "\r\n"
              + "Accept: */*\r\n"
              + "Connection: close\r\n"
              + "Accept-Encoding: gzip\r\n"
              + "\r\n";
      try {
        OutputStream out = s.getOutputStream();
        out.write(request.getBytes(StandardCharsets.US_ASCII));
        out.flush();
      } catch (IOException e) {
        throw new Failed("write " + conn + ": " + ioError(e, "write"));
      }
      InputStream in = s.getInputStream();
      int status;
      String location = null;
      boolean chunked = false;
      long length = -1;
      while (true) { // 1xx answers come before the real one
        String statusLine = line(s, in, deadline, awaitingHeaders, conn, true);
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
          throw new Failed("net/http: malformed HTTP response \"" + statusLine + "\"");
        }
        try {
          status = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
          throw new Failed("net/http: malformed HTTP status code \"" + parts[1] + "\"");
        }
        int headerBytes = 0;
        while (true) {
          String h = line(s, in, deadline, awaitingHeaders, conn, false);
          if (h.isEmpty()) {
            break;
          }
          headerBytes += h.length();
          if (headerBytes > MAX_HEADER_BYTES) {
            throw new Failed("net/http: server response headers exceeded 1048576 bytes; aborted");
          }
          int colon = h.indexOf(':');
          if (colon <= 0) {
            continue;
          }
          String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
          String value = h.substring(colon + 1).trim();
          switch (name) {
            case "location" -> location = value;
            case "transfer-encoding" -> chunked = value.equalsIgnoreCase("chunked");
            case "content-length" -> length = Long.parseLong(value);
            default -> {}
          }
        }
        if (status >= 200 || status == 101) {
          break;
        }
      }
      String readingBody =
          "context deadline exceeded (Client.Timeout or context cancellation while reading body)";
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      try {
        if (chunked) {
          while (body.size() < MAX_BODY) {
            String size = line(s, in, deadline, readingBody, conn, false);
            int semi = size.indexOf(';');
            long n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
            if (n == 0) {
              break;
            }
            copy(s, in, body, n, deadline, readingBody);
            line(s, in, deadline, readingBody, conn, false);
          }
        } else {
          copy(s, in, body, length < 0 ? Long.MAX_VALUE : length, deadline, readingBody);
        }
      } catch (NumberFormatException e) {
        throw new Failed("net/http: invalid chunk length");
      } catch (IOException e) {
        throw new Failed("read " + conn + ": " + ioError(e, "read"));
      }
      byte[] b = body.toByteArray();
      String text =
          new String(b, 0, Math.min(b.length, MAX_BODY), StandardCharsets.UTF_8); // as read
      return new Response(status, location, text);
    } catch (IOException e) { // closing
      throw new Failed(ioError(e, "close"));
    }
  }

  /** Copies up to {@code n} bytes of the body, stopping at {@link #MAX_BODY} or end of stream. */
  private static void copy(
      Socket s, InputStream in, ByteArrayOutputStream body, long n, long deadline, String timeout)
      throws IOException, Failed {
    byte[] buf = new byte[4096];
    long left = n;
    while (left > 0 && body.size() < MAX_BODY) {
      s.setSoTimeout(remainingMillis(deadline, timeout));
      int r;
      try {
        r = in.read(buf, 0, (int) Math.min(buf.length, Math.min(left, MAX_BODY - body.size())));
      } catch (SocketTimeoutException e) {
        throw new Failed(timeout);
      }
      if (r < 0) {
        if (n != Long.MAX_VALUE) {
          throw new Failed("unexpected EOF");
        }
        return;
      }
      body.write(buf, 0, r);
      left -= r;
    }
  }

  /** One CRLF- (or LF-) terminated line; end of stream before a status line is Go's {@code EOF}. */
  private static String line(
      Socket s, InputStream in, long deadline, String timeout, String conn, boolean first)
      throws Failed {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try {
      while (true) {
        s.setSoTimeout(remainingMillis(deadline, timeout));
        int c;
        try {
          c = in.read();
        } catch (SocketTimeoutException e) {
          throw new Failed(timeout);
        }
        if (c < 0) {
          throw new Failed(first && b.size() == 0 ? "EOF" : "unexpected EOF");
        }
        if (c == '\n') {
          String l = b.toString(StandardCharsets.ISO_8859_1);
          return l.endsWith("\r") ? l.substring(0, l.length() - 1) : l;
        }
        b.write(c);
        if (b.size() > MAX_HEADER_BYTES) {
          throw new Failed("net/http: server response headers exceeded 1048576 bytes; aborted");
        }
      }
    } catch (IOException e) {
      throw new Failed("read " + conn + ": " + ioError(e, "read"));
    }
  }

  private static int remainingMillis(long deadline, String timeout) throws Failed {
    long ms = (deadline - System.nanoTime()) / 1_000_000L;
    if (ms <= 0) {
      throw new Failed(timeout);
    }
    return (int) Math.min(Integer.MAX_VALUE, ms);
  }

  /** Go's text for a failed dial (after {@code dial tcp ADDR: }). */
  private static String dialError(IOException e) {
    if (e instanceof SocketTimeoutException) {
      return "i/o timeout";
    }
    if (e instanceof ConnectException) {
      String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
      return "connect: " + (m.contains("refused") ? "connection refused" : m);
    }
    if (e instanceof NoRouteToHostException) {
      return "connect: no route to host";
    }
    return "connect: " + String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
  }

  /** Go's text for a failed read or write on a connection. */
  private static String ioError(IOException e, String op) {
    String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
    if (e instanceof SocketException && m.contains("reset")) {
      return op + ": connection reset by peer";
    }
    if (m.contains("broken pipe")) {
      return op + ": broken pipe";
    }
    return op + ": " + m;
  }

  private static String hostPort(String host, int port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  private static Duration since(long start) {
    return Duration.ofNanos(System.nanoTime() - start);
  }
}
