package io.krill.cri.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class CriLogTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-01-02T03:04:05.123456789Z"), ZoneOffset.UTC);
  private static final String TS = "2026-01-02T03:04:05.123456789Z";

  private static String pump(String stream, InputStream in, int maxLine) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new CriLog(out, CLOCK, maxLine).pump(stream, in);
    return out.toString(StandardCharsets.UTF_8);
  }

  private static InputStream text(String s) {
    return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
  }

  /** Delivers one byte per read, as a FIFO written a byte at a time would. */
  private static InputStream trickle(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    return new InputStream() {
      int i;

      @Override
      public int read() {
        return i < b.length ? b[i++] & 0xff : -1;
      }

      @Override
      public int read(byte[] buf, int off, int len) {
        if (i >= b.length) {
          return -1;
        }
        buf[off] = b[i++];
        return 1;
      }
    };
  }

  @Test
  void pump_fullLines_eachTaggedF() throws IOException {
    assertEquals(
        TS + " stdout F one\n" + TS + " stdout F two\n", pump("stdout", text("one\ntwo\n"), 100));
  }

  @Test
  void pump_lineSplitAcrossReads_isOneRecord() throws IOException {
    assertEquals(TS + " stderr F hello world\n", pump("stderr", trickle("hello world\n"), 100));
  }

  @Test
  void pump_longLine_splitIntoPartialsEndedByFull() throws IOException {
    assertEquals(
        TS + " stdout P abcd\n" + TS + " stdout P efgh\n" + TS + " stdout F ij\n",
        pump("stdout", text("abcdefghij\n"), 4));
  }

  @Test
  void pump_lineOfExactlyMaxLength_endsWithEmptyFull() throws IOException {
    assertEquals(TS + " stdout P abcd\n" + TS + " stdout F \n", pump("stdout", text("abcd\n"), 4));
  }

  @Test
  void pump_lastLineWithoutNewline_writtenAtEof() throws IOException {
    assertEquals(
        TS + " stdout F a\n" + TS + " stdout F tail\n", pump("stdout", text("a\ntail"), 100));
  }

  @Test
  void pump_emptyLine_keptAsEmptyRecord() throws IOException {
    assertEquals(TS + " stdout F \n", pump("stdout", text("\n"), 100));
  }

  @Test
  void constructor_nonPositiveMaxLine_refused() {
    assertThrows(
        IllegalArgumentException.class, () -> new CriLog(new ByteArrayOutputStream(), CLOCK, 0));
  }
}
