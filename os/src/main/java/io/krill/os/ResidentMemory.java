package io.krill.os;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resident bytes of an address range of this process, from /proc/self/smaps. A guest's linear
 * memory is one large reservation of which only touched pages are resident, so this is the honest
 * "how much memory does this container use" number.
 */
public final class ResidentMemory {
  private static final Path SMAPS = Path.of("/proc/self/smaps");

  private ResidentMemory() {}

  /** The native address of a direct buffer (e.g. an engine's view of a guest's linear memory). */
  public static long addressOf(ByteBuffer direct) {
    Pointer p = Native.getDirectBufferPointer(direct);
    return Pointer.nativeValue(p);
  }

  public static long residentBytes(long start, long length) {
    long end = start + length;
    long total = 0;
    boolean inRange = false;
    try (BufferedReader r = Files.newBufferedReader(SMAPS)) {
      String line;
      while ((line = r.readLine()) != null) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        if (dash > 0 && space > dash && isHex(line, 0, dash)) {
          long lo = Long.parseUnsignedLong(line.substring(0, dash), 16);
          long hi = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
          inRange = lo < end && hi > start;
        } else if (inRange && line.startsWith("Rss:")) {
          total += Long.parseLong(line.substring(4).replace("kB", "").trim()) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
    return total;
  }

  private static boolean isHex(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      if (Character.digit(s.charAt(i), 16) < 0) {
        return false;
      }
    }
    return true;
  }
}
