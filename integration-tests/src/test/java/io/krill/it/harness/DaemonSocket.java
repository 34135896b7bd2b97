package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One raw client connection to a krill daemon's ttrpc socket ({@link Containerd#shimSocket}), for
 * tests that must put exact bytes on the wire: many idle clients, garbage, hand-made requests. The
 * channel is non-blocking, so connecting never waits for the daemon to accept and every read is
 * bounded by a deadline.
 */
public final class DaemonSocket implements AutoCloseable {
  public static final String TASK_SERVICE = "containerd.task.v2.Task";
  private static final int HEADER = 10;
  private static final byte TYPE_REQUEST = 1;
  private static final byte TYPE_RESPONSE = 2;
  private static final Duration WAIT = Duration.ofSeconds(60);

  /** A decoded ttrpc Response: the status code and message, and the reply payload. */
  public record Reply(int streamId, int code, String message, byte[] payload) {}

  private final SocketChannel channel;

  private DaemonSocket(SocketChannel channel) {
    this.channel = channel;
  }

  /**
   * A non-blocking connect, as a storm of clients would make it: when the daemon's listen backlog
   * is full, this fails at once (EAGAIN) instead of waiting.
   */
  public static DaemonSocket connect(Path socket) throws IOException {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      ch.configureBlocking(false);
      ch.connect(UnixDomainSocketAddress.of(socket));
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    return new DaemonSocket(ch);
  }

  /** Writes all of {@code bytes}, waiting for room while the daemon is slow to read. */
  public void write(byte[] bytes) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (b.hasRemaining()) {
      if (channel.write(b) == 0) {
        if (System.nanoTime() > deadline) {
          fail("the daemon did not read " + bytes.length + " bytes within " + WAIT);
        }
        Host.sleep(5);
      }
    }
  }

  /** A ttrpc request frame on {@code streamId} (odd, increasing per connection). */
  public static byte[] requestFrame(int streamId, String service, String method, MessageLite msg) {
    try {
      ByteArrayOutputStream env = new ByteArrayOutputStream();
      CodedOutputStream out = CodedOutputStream.newInstance(env);
      out.writeString(1, service);
      out.writeString(2, method);
      out.writeBytes(3, msg.toByteString());
      out.flush();
      byte[] data = env.toByteArray();
      return frame(streamId, TYPE_REQUEST, data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A frame with any header values, for garbage that is well-formed at the framing level. */
  public static byte[] frame(int streamId, byte type, byte[] data) {
    return ByteBuffer.allocate(HEADER + data.length)
        .putInt(data.length)
        .putInt(streamId)
        .put(type)
        .put((byte) 0)
        .put(data)
        .array();
  }

  public void request(int streamId, String service, String method, MessageLite msg)
      throws IOException {
    write(requestFrame(streamId, service, method, msg));
  }

  /** The next response frame, failing the test if none arrives in time or the daemon hangs up. */
  public Reply readReply() throws IOException {
    ByteBuffer header = ByteBuffer.allocate(HEADER);
    readFully(header);
    header.flip();
    int length = header.getInt();
    int streamId = header.getInt();
    assertEquals(TYPE_RESPONSE, header.get(), "frame type from the daemon");
    ByteBuffer body = ByteBuffer.allocate(length);
    readFully(body);
    return decodeResponse(streamId, body.array());
  }

  /** Whether the daemon closes this connection within the deadline; data it sends is skipped. */
  public boolean awaitClosedByDaemon() {
    ByteBuffer sink = ByteBuffer.allocate(8192);
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      sink.clear();
      try {
        if (channel.read(sink) < 0) {
          return true;
        }
      } catch (IOException e) {
        return true; // reset by the daemon
      }
      Host.sleep(5);
    }
    return false;
  }

  private void readFully(ByteBuffer b) throws IOException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (b.hasRemaining()) {
      int n = channel.read(b);
      if (n < 0) {
        throw new IOException("the daemon closed the connection");
      }
      if (n == 0) {
        if (System.nanoTime() > deadline) {
          fail("no reply from the daemon within " + WAIT);
        }
        Host.sleep(2);
      }
    }
  }

  private static Reply decodeResponse(int streamId, byte[] data) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(data);
    int code = 0;
    String message = "";
    byte[] payload = new byte[0];
    for (int tag; (tag = in.readTag()) != 0; ) {
      switch (tag >>> 3) {
        case 1 -> {
          CodedInputStream status = in.readBytes().newCodedInput();
          for (int t; (t = status.readTag()) != 0; ) {
            switch (t >>> 3) {
              case 1 -> code = status.readInt32();
              case 2 -> message = status.readString();
              default -> status.skipField(t);
            }
          }
        }
        case 2 -> payload = in.readBytes().toByteArray();
        default -> in.skipField(tag);
      }
    }
    return new Reply(streamId, code, message, payload);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
