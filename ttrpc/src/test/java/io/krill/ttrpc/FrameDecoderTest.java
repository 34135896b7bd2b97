package io.krill.ttrpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {

  private static final class Collect implements FrameDecoder.Sink {
    final List<Frame> frames = new ArrayList<>();
    final List<long[]> oversize = new ArrayList<>();

    @Override
    public void onFrame(Frame frame) {
      frames.add(frame);
    }

    @Override
    public void onOversize(int streamId, byte type, long length) {
      oversize.add(new long[] {streamId, type, length});
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void header_layout_isBigEndianTenBytes() {
    byte[] b = new Frame(0x01020304, (byte) 2, (byte) 5, new byte[] {9, 8}).toBytes();
    assertArrayEquals(new byte[] {0, 0, 0, 2, 1, 2, 3, 4, 2, 5, 9, 8}, b);
  }

  @Test
  void feed_headerDeclaringTheLargestFrame_holdsOnlyWhatArrived() throws Exception {
    byte[] big = new byte[Frame.MAX_DATA];
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) (i * 31);
    }
    byte[] wire = Frame.of(7, Frame.TYPE_REQUEST, big).toBytes();
    FrameDecoder d = new FrameDecoder();
    Collect c = new Collect();
    d.feed(ByteBuffer.wrap(wire, 0, Frame.HEADER_SIZE), c);
    assertEquals(FrameDecoder.INITIAL_BODY, d.bufferedCapacity());
    int sent = Frame.HEADER_SIZE;
    while (sent < wire.length) {
      int n = Math.min(100_000, wire.length - sent);
      d.feed(ByteBuffer.wrap(wire, sent, n), c);
      sent += n;
      if (sent < wire.length) {
        assertTrue(
            d.bufferedCapacity() <= 2 * (sent - Frame.HEADER_SIZE) + FrameDecoder.INITIAL_BODY,
            "holds " + d.bufferedCapacity() + " after " + sent);
      }
    }
    assertEquals(1, c.frames.size());
    assertArrayEquals(big, c.frames.get(0).data());
    assertEquals(0, d.bufferedCapacity());
  }

  @Test
  void feed_splitByteByByte_yieldsEachFrameOnce() throws Exception {
    ByteArrayOutputStream wire = new ByteArrayOutputStream();
    wire.write(Frame.of(1, Frame.TYPE_REQUEST, bytes("hello")).toBytes());
    wire.write(Frame.of(3, Frame.TYPE_REQUEST, new byte[0]).toBytes());
    wire.write(Frame.of(5, Frame.TYPE_RESPONSE, bytes("world!")).toBytes());
    FrameDecoder d = new FrameDecoder();
    Collect c = new Collect();
    for (byte b : wire.toByteArray()) {
      d.feed(ByteBuffer.wrap(new byte[] {b}), c);
    }
    assertEquals(3, c.frames.size());
    assertEquals(1, c.frames.get(0).streamId());
    assertArrayEquals(bytes("hello"), c.frames.get(0).data());
    assertEquals(3, c.frames.get(1).streamId());
    assertEquals(0, c.frames.get(1).data().length);
    assertEquals(Frame.TYPE_RESPONSE, c.frames.get(2).type());
    assertArrayEquals(bytes("world!"), c.frames.get(2).data());
    assertFalse(d.midFrame());
  }

  @Test
  void feed_severalFramesCoalesced_yieldsAllInOrder() throws Exception {
    ByteArrayOutputStream wire = new ByteArrayOutputStream();
    for (int i = 0; i < 10; i++) {
      wire.write(Frame.of(2 * i + 1, Frame.TYPE_REQUEST, bytes("m" + i)).toBytes());
    }
    FrameDecoder d = new FrameDecoder();
    Collect c = new Collect();
    d.feed(ByteBuffer.wrap(wire.toByteArray()), c);
    assertEquals(10, c.frames.size());
    for (int i = 0; i < 10; i++) {
      assertEquals(2 * i + 1, c.frames.get(i).streamId());
      assertArrayEquals(bytes("m" + i), c.frames.get(i).data());
    }
  }

  @Test
  void feed_splitAtArbitraryChunks_matchesWhole() throws Exception {
    ByteArrayOutputStream wire = new ByteArrayOutputStream();
    for (int i = 0; i < 50; i++) {
      wire.write(Frame.of(2 * i + 1, Frame.TYPE_DATA, new byte[i * 7]).toBytes());
    }
    byte[] all = wire.toByteArray();
    for (int chunk : new int[] {2, 3, 9, 10, 11, 64}) {
      FrameDecoder d = new FrameDecoder();
      Collect c = new Collect();
      for (int off = 0; off < all.length; off += chunk) {
        d.feed(ByteBuffer.wrap(all, off, Math.min(chunk, all.length - off)), c);
      }
      assertEquals(50, c.frames.size(), "chunk " + chunk);
      assertEquals(49 * 7, c.frames.get(49).data().length);
    }
  }

  @Test
  void feed_partialHeader_reportsMidFrame() throws Exception {
    FrameDecoder d = new FrameDecoder();
    Collect c = new Collect();
    d.feed(ByteBuffer.wrap(new byte[] {0, 0, 0}), c);
    assertTrue(d.midFrame());
    assertTrue(c.frames.isEmpty());
  }

  @Test
  void feed_oversizeFrame_isDiscardedThenNextFrameDecodes() throws Exception {
    int len = Frame.MAX_DATA + 1;
    ByteBuffer header =
        ByteBuffer.allocate(Frame.HEADER_SIZE).putInt(len).putInt(7).put((byte) 1).put((byte) 0);
    FrameDecoder d = new FrameDecoder();
    Collect c = new Collect();
    d.feed(header.flip(), c);
    byte[] chunk = new byte[100_000];
    int left = len;
    while (left > 0) {
      int n = Math.min(left, chunk.length);
      d.feed(ByteBuffer.wrap(chunk, 0, n), c);
      left -= n;
      if (left > 0) {
        assertTrue(c.oversize.isEmpty());
      }
    }
    assertEquals(1, c.oversize.size());
    assertEquals(7, c.oversize.get(0)[0]);
    assertEquals(len, c.oversize.get(0)[2]);
    d.feed(ByteBuffer.wrap(Frame.of(9, Frame.TYPE_REQUEST, bytes("ok")).toBytes()), c);
    assertEquals(1, c.frames.size());
    assertEquals(9, c.frames.get(0).streamId());
  }

  @Test
  void feed_absurdLength_throwsProtocolException() {
    byte[] garbage = bytes("GET / HTTP/1.1\r\n\r\n");
    FrameDecoder d = new FrameDecoder();
    assertThrows(ProtocolException.class, () -> d.feed(ByteBuffer.wrap(garbage), new Collect()));
  }
}
