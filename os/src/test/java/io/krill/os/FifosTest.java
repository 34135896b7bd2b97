package io.krill.os;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FifosTest {
  @TempDir Path tmp;

  private Path fifo() throws Exception {
    Path p = tmp.resolve("fifo");
    assertEquals(0, new ProcessBuilder("mkfifo", p.toString()).start().waitFor());
    return p;
  }

  @Test
  void unreadCountsTheBytesInThePipe() throws Exception {
    Path p = fifo();
    assertTrue(Fifos.isFifo(p));
    assertFalse(Fifos.isFifo(Files.createFile(tmp.resolve("file"))));
    try (FileChannel rw = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      assertEquals(0, Fifos.unread(p));
      rw.write(ByteBuffer.wrap(new byte[5]));
      assertEquals(5, Fifos.unread(p));
    }
    assertEquals(-1, Fifos.unread(tmp.resolve("missing")));
  }

  /**
   * Written before any reader came, and still read by the one that comes after the writer is done.
   */
  @Test
  void whatIsWrittenBeforeTheReaderComesReachesIt() throws Exception {
    Path p = fifo();
    FileChannel w = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
    w.write(ByteBuffer.wrap("early\n".getBytes(StandardCharsets.UTF_8)));
    Fifos.closeOnceDrained(w, p, 60_000);
    assertTrue(w.isOpen(), "kept open while no reader exists");
    try (FileInputStream r = new FileInputStream(p.toFile())) {
      java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
      byte[] buf = new byte[64];
      for (int n; (n = r.read(buf)) > 0; ) {
        got.write(buf, 0, n);
      }
      assertEquals("early\n", got.toString(StandardCharsets.UTF_8));
    }
    assertFalse(w.isOpen());
  }

  @Test
  void anEmptyPipeIsClosedAtOnce() throws Exception {
    Path p = fifo();
    FileChannel w = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
    Fifos.closeOnceDrained(w, p, 60_000);
    assertFalse(w.isOpen());
  }

  @Test
  void withoutAReaderTheEndIsClosedAfterTheBound() throws Exception {
    Path p = fifo();
    FileChannel w = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
    w.write(ByteBuffer.wrap(new byte[3]));
    Fifos.closeOnceDrained(w, p, 0);
    while (w.isOpen()) {
      Thread.sleep(5);
    }
  }
}
