package io.krill.it.harness;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyPingFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynStreamFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyGoAwayFrame;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyVersion;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A SPDY/3.1 client for a streaming URL, as spdystream (client-go's, so kubelet's, kubectl's and
 * crictl's) speaks it, to drive what kubectl never does on one connection (a stream pair that fails
 * and then one that works): an HTTP/1.1 upgrade, then streams opened with SYN_STREAM and headers,
 * data sent and read per stream. Frames are encoded and decoded by netty's codec; everything runs
 * on the caller's thread, reading the socket while it waits.
 */
public final class SpdyClient implements AutoCloseable {
  /** What arrived on one stream. */
  private static final class Stream {
    final ByteArrayOutputStream data = new ByteArrayOutputStream();
    boolean replied;
    boolean finished;
    boolean reset;
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final EmbeddedChannel codec =
      new EmbeddedChannel(new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
  private final Map<Integer, Stream> streams = new HashMap<>();
  private final String head;
  private int nextId = 1;
  private boolean goneAway;
  private boolean closed;

  private SpdyClient(Socket socket, String head) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
    this.head = head;
  }

  /**
   * Connects to {@code url} and upgrades to SPDY/3.1 offering {@code protocol}; fails unless the
   * answer is 101.
   */
  public static SpdyClient upgrade(String url, String protocol) throws IOException {
    URI u = URI.create(url);
    Socket s = new Socket(u.getHost(), u.getPort());
    try {
      s.setSoTimeout(100);
      String req =
          "POST "
              + u.getRawPath()
              + " HTTP/1.1\r\nHost: "
              + u.getHost()
              + ":"
              + u.getPort()
              + "\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: "
              + protocol
              + "\r\nContent-Length: 0\r\n\r\n";
      s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
      ByteArrayOutputStream h = new ByteArrayOutputStream();
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (!h.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int c;
        try {
          c = s.getInputStream().read();
        } catch (SocketTimeoutException e) {
          if (System.nanoTime() > deadline) {
            throw new IOException("no answer to the upgrade request to " + url, e);
          }
          continue;
        }
        if (c < 0) {
          throw new IOException("connection closed before the upgrade answer: " + h);
        }
        h.write(c);
      }
      String head = h.toString(StandardCharsets.ISO_8859_1);
      if (!head.startsWith("HTTP/1.1 101 ")) {
        throw new IOException("upgrade refused: " + head);
      }
      return new SpdyClient(s, head);
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  /** The status line and headers of the 101 answer. */
  public String head() {
    return head;
  }

  /** Opens a stream with these headers (names in lower case); returns its id. */
  public int open(Map<String, String> headers) throws IOException {
    int id = nextId;
    nextId += 2;
    DefaultSpdySynStreamFrame syn = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
    headers.forEach((k, v) -> syn.headers().set(k, v));
    streams.put(id, new Stream());
    send(syn);
    return id;
  }

  /** Sends {@code data} on stream {@code id}. */
  public void write(int id, byte[] data) throws IOException {
    send(new DefaultSpdyDataFrame(id, Unpooled.wrappedBuffer(data)));
  }

  /** Ends what the client sends on stream {@code id} (a DATA frame with FIN). */
  public void finish(int id) throws IOException {
    DefaultSpdyDataFrame fin = new DefaultSpdyDataFrame(id);
    fin.setLast(true);
    send(fin);
  }

  /** Resets stream {@code id}. */
  public void reset(int id) throws IOException {
    send(new DefaultSpdyRstStreamFrame(id, SpdyStreamStatus.CANCEL));
  }

  /**
   * What the server sent on stream {@code id} until it finished or reset it; fails after {@code
   * timeout}.
   */
  public byte[] readToEnd(int id, Duration timeout) throws IOException {
    Stream s = streams.get(id);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!s.finished && !s.reset) {
      if (closed) {
        throw new IOException("connection closed before stream " + id + " ended: " + s.data);
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("stream " + id + " did not end in " + timeout + ": " + s.data);
      }
      pump();
    }
    return s.data.toByteArray();
  }

  /** Whether the server reset stream {@code id} (rather than finishing it). */
  public boolean wasReset(int id) {
    return streams.get(id).reset;
  }

  /** Whether the server answered stream {@code id}'s SYN_STREAM. */
  public boolean replied(int id) {
    return streams.get(id).replied;
  }

  /** Whether the server has sent GOAWAY or closed the connection. */
  public boolean ended() {
    return goneAway || closed;
  }

  private void send(Object frame) throws IOException {
    codec.writeOutbound(frame);
    for (Object o = codec.readOutbound(); o != null; o = codec.readOutbound()) {
      ByteBuf b = (ByteBuf) o;
      try {
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        out.write(bytes);
      } finally {
        b.release();
      }
    }
    out.flush();
  }

  /** Reads what the socket has (waiting up to its read timeout) and files the frames. */
  private void pump() throws IOException {
    byte[] buf = new byte[16384];
    int n;
    try {
      n = in.read(buf);
    } catch (SocketTimeoutException e) {
      return;
    }
    if (n < 0) {
      closed = true;
      return;
    }
    codec.writeInbound(Unpooled.copiedBuffer(buf, 0, n));
    for (Object f = codec.readInbound(); f != null; f = codec.readInbound()) {
      try {
        file(f);
      } finally {
        ReferenceCountUtil.release(f);
      }
    }
  }

  private void file(Object f) throws IOException {
    if (f instanceof SpdySynReplyFrame r) {
      stream(r.streamId()).replied = true;
      stream(r.streamId()).finished |= r.isLast();
    } else if (f instanceof SpdyDataFrame d) {
      Stream s = stream(d.streamId());
      byte[] b = new byte[d.content().readableBytes()];
      d.content().readBytes(b);
      s.data.write(b);
      s.finished |= d.isLast();
    } else if (f instanceof SpdyRstStreamFrame r) {
      stream(r.streamId()).reset = true;
    } else if (f instanceof SpdyGoAwayFrame) {
      goneAway = true;
    } else if (f instanceof SpdyPingFrame p && (p.id() & 1) == 0) {
      send(new DefaultSpdyPingFrame(p.id()));
    }
  }

  private Stream stream(int id) {
    return streams.computeIfAbsent(id, x -> new Stream());
  }

  @Override
  public void close() throws IOException {
    codec.finishAndReleaseAll();
    socket.close();
  }
}
