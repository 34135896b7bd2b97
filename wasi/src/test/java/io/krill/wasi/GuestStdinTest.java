package io.krill.wasi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest's stdin FIFO: opened at start, ended by CloseIO after what was written, closed by Kill.
 */
class GuestStdinTest {
  /** Only to keep a broken implementation from hanging the build; never a performance bound. */
  private static final long PATIENCE_SECONDS = 60;

  @TempDir Path tmp;
  private Path fifo;

  @BeforeEach
  void makeFifo() throws Exception {
    fifo = tmp.resolve("stdin");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
  }

  private CompletableFuture<FileChannel> openWriter() {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return FileChannel.open(fifo, StandardOpenOption.WRITE);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  private static String read(GuestStdin in) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(64);
    int n = in.read(b);
    return n < 0 ? null : new String(b.array(), 0, n, StandardCharsets.UTF_8);
  }

  @Test
  void endInput_writerStillOpen_whatWasWrittenIsReadThenEndOfFile() throws Exception {
    CompletableFuture<FileChannel> writer = openWriter();
    GuestStdin in = new GuestStdin(fifo);
    in.open("c1");
    try (FileChannel w = writer.get(PATIENCE_SECONDS, TimeUnit.SECONDS)) {
      w.write(ByteBuffer.wrap("hi\n".getBytes(StandardCharsets.UTF_8)));
      // ctr sends CloseIO before it closes its end of the FIFO.
      in.endInput();
      assertEquals("hi\n", read(in));
      assertEquals(null, read(in), "end-of-file once the pipe is empty");
    }
    in.close();
  }

  @Test
  void endInput_whileAReadWaitsOnAnEmptyPipe_endsIt() throws Exception {
    CompletableFuture<FileChannel> writer = openWriter();
    GuestStdin in = new GuestStdin(fifo);
    in.open("c1");
    try (FileChannel w = writer.get(PATIENCE_SECONDS, TimeUnit.SECONDS)) {
      CompletableFuture<String> pending =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return read(in);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
      while (!pending.isDone() && !readerWaits(in)) {
        Thread.sleep(5);
      }
      in.endInput();
      assertEquals(null, pending.get(PATIENCE_SECONDS, TimeUnit.SECONDS));
    }
  }

  @Test
  void endInput_noWriterEverCame_readSeesEndOfFile() throws Exception {
    GuestStdin in = new GuestStdin(fifo);
    in.open("c1");
    in.endInput();
    assertEquals(null, read(in));
  }

  @Test
  void close_writerGetsABrokenPipe() throws Exception {
    CompletableFuture<FileChannel> writer = openWriter();
    GuestStdin in = new GuestStdin(fifo);
    in.open("c1");
    try (FileChannel w = writer.get(PATIENCE_SECONDS, TimeUnit.SECONDS)) {
      w.write(ByteBuffer.wrap("x".getBytes(StandardCharsets.UTF_8)));
      assertEquals("x", read(in));
      in.close();
      assertThrows(IOException.class, () -> w.write(ByteBuffer.wrap(new byte[] {1})));
      assertEquals(null, read(in));
    }
  }

  @Test
  void close_rightAfterOpen_leavesNoOpenerWaitingForAWriter() throws Exception {
    // A guest that ends at once (hello.wasm): its stdin opener may not have reached open(2) yet.
    // Once close returns no reading end may be left: a writer coming later (ctr) must not find
    // one that goes away under it, and the guest's end must not wait for it.
    for (int i = 0; i < 20; i++) {
      GuestStdin in = new GuestStdin(fifo);
      String name = "early" + i;
      in.open(name);
      in.close();
      assertFalse(openerAlive("stdin-open-" + name), "close left opener " + i + " behind");
    }
  }

  private static boolean openerAlive(String name) {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().equals(name) && t.isAlive());
  }

  private static boolean readerWaits(GuestStdin in) {
    return in.readers() > 0;
  }
}
