package io.krill.cri.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The log file as an append-only stream that ReopenContainerLog can point at a fresh file: kubelet
 * rotates by renaming the file and asking the runtime to reopen, so writes must move to a new file
 * at that path.
 */
final class ReopenableLog extends OutputStream {
  private final Path path;
  private OutputStream out;

  ReopenableLog(Path path) throws IOException {
    this.path = path;
    this.out = open(path);
  }

  private static OutputStream open(Path path) throws IOException {
    return Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  synchronized void reopen() throws IOException {
    OutputStream next = open(path);
    out.close();
    out = next;
  }

  @Override
  public synchronized void write(int b) throws IOException {
    out.write(b);
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) throws IOException {
    out.write(b, off, len);
  }

  @Override
  public synchronized void flush() throws IOException {
    out.flush();
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }
}
