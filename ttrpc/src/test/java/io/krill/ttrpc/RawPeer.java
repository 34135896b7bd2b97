package io.krill.ttrpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A hand-driven client socket for tests that must put exact bytes on the wire. */
final class RawPeer implements AutoCloseable {
  final SocketChannel channel;
  private final LinkedBlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
  private final CountDownLatch eof = new CountDownLatch(1);

  RawPeer(Path socket) throws IOException {
    channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    channel.connect(UnixDomainSocketAddress.of(socket));
    Thread t = new Thread(this::read, "raw-peer-reader");
    t.setDaemon(true);
    t.start();
  }

  private void read() {
    FrameDecoder d = new FrameDecoder();
    ByteBuffer buf = ByteBuffer.allocate(8192);
    FrameDecoder.Sink sink =
        new FrameDecoder.Sink() {
          @Override
          public void onFrame(Frame frame) {
            frames.add(frame);
          }

          @Override
          public void onOversize(int streamId, byte type, long length) {
            throw new AssertionError("server sent oversize frame");
          }
        };
    try {
      while (channel.read(buf) >= 0) {
        buf.flip();
        d.feed(buf, sink);
        buf.clear();
      }
    } catch (IOException e) {
      // Treated like EOF: the server dropped us.
    } finally {
      eof.countDown();
    }
  }

  void write(byte[] bytes) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    while (b.hasRemaining()) {
      channel.write(b);
    }
  }

  void request(int streamId, String service, String method, byte[] payload) throws IOException {
    byte[] data = new RequestMessage(service, method, payload, 0, null).encode();
    write(Frame.of(streamId, Frame.TYPE_REQUEST, data).toBytes());
  }

  Frame next() throws InterruptedException {
    Frame f = frames.poll(TestSupport.WAIT_SECONDS, TimeUnit.SECONDS);
    assertNotNull(f, "no frame from server");
    return f;
  }

  ResponseMessage nextResponse(int expectedStreamId) throws Exception {
    Frame f = next();
    assertEquals(expectedStreamId, f.streamId());
    assertEquals(Frame.TYPE_RESPONSE, f.type());
    return ResponseMessage.decode(f.data());
  }

  boolean awaitEof() throws InterruptedException {
    return eof.await(TestSupport.WAIT_SECONDS, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
