package io.krill.ttrpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The frame decoder on arbitrary bytes, split at arbitrary points: it must decode the same frames
 * however the bytes arrive, never a frame larger than {@link Frame#MAX_DATA}, and fail only with
 * {@link ProtocolException}.
 */
class FrameDecoderFuzzTest {

  /** What a decoder reported for one byte stream. */
  private record Outcome(List<String> events, String failure, boolean midFrame) {}

  @FuzzTest
  void feed_anySplit_decodesLikeOneBuffer(FuzzedDataProvider in) {
    int[] cuts = in.consumeInts(in.consumeInt(0, 16));
    byte[] wire = in.consumeRemainingAsBytes();

    List<Frame> frames = new ArrayList<>();
    Outcome whole = decode(List.of(wire), frames);
    Outcome split = decode(chunks(wire, cuts), new ArrayList<>());
    assertEquals(whole, split, "the decoder's result depends on how the bytes were split");

    for (Frame f : frames) {
      assertTrue(f.data().length <= Frame.MAX_DATA, "frame larger than MAX_DATA");
    }
    if (whole.failure() == null && whole.events().stream().noneMatch(e -> e.startsWith("over"))) {
      // Every byte is accounted for: the frames re-encode to the input, less an unfinished frame.
      ByteArrayOutputStream again = new ByteArrayOutputStream();
      frames.forEach(f -> again.writeBytes(f.toBytes()));
      byte[] consumed = again.toByteArray();
      assertArrayEquals(Arrays.copyOf(wire, consumed.length), consumed);
      assertEquals(consumed.length < wire.length, whole.midFrame());
    }
  }

  private static Outcome decode(List<byte[]> chunks, List<Frame> frames) {
    List<String> events = new ArrayList<>();
    FrameDecoder d = new FrameDecoder();
    FrameDecoder.Sink sink =
        new FrameDecoder.Sink() {
          @Override
          public void onFrame(Frame f) {
            frames.add(f);
            events.add(
                "frame "
                    + f.streamId()
                    + " "
                    + f.type()
                    + " "
                    + f.flags()
                    + " "
                    + Arrays.hashCode(f.data())
                    + "/"
                    + f.data().length);
          }

          @Override
          public void onOversize(int streamId, byte type, long length) {
            assertTrue(length > Frame.MAX_DATA && length <= FrameDecoder.MAX_DISCARD);
            events.add("oversize " + streamId + " " + type + " " + length);
          }
        };
    try {
      for (byte[] c : chunks) {
        ByteBuffer b = ByteBuffer.wrap(c);
        d.feed(b, sink);
        assertEquals(0, b.remaining(), "feed must consume all of its input");
      }
    } catch (ProtocolException e) {
      return new Outcome(events, e.getMessage(), true);
    }
    return new Outcome(events, null, d.midFrame());
  }

  private static List<byte[]> chunks(byte[] wire, int[] cuts) {
    List<byte[]> out = new ArrayList<>();
    int from = 0;
    for (int c : cuts) {
      int to = from + Math.floorMod(c, wire.length - from + 1);
      out.add(Arrays.copyOfRange(wire, from, to));
      from = to;
    }
    out.add(Arrays.copyOfRange(wire, from, wire.length));
    return out;
  }
}
