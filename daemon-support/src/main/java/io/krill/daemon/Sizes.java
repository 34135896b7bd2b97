package io.krill.daemon;

/**
 * Sizes as both daemons and the CLI take them: bytes ({@code 1048576}), or a number with a binary
 * suffix {@code K}, {@code M}, {@code G} or {@code T} (case-insensitive; an {@code i} and/or {@code
 * B} may follow: {@code 512Mi}, {@code 4GiB}, {@code 1G}). One parser, so {@code
 * --image-size-limit} and {@code default_memory_limit} accept the same words.
 */
public final class Sizes {
  /** What {@link #parse} accepts, for error messages. */
  public static final String ACCEPTED =
      "bytes, or a number with a K, M, G or T suffix (binary: 1K = 1024;"
          + " Ki, KiB and KB mean the same), e.g. 512Mi or 4G";

  private Sizes() {}

  /**
   * A size of zero or more bytes; {@link IllegalArgumentException} saying what is accepted
   * otherwise.
   */
  public static long parse(String s) {
    String t = s.strip().replaceFirst("(?i)i?b?$", "");
    int shift = 0;
    if (!t.isEmpty()) {
      switch (Character.toUpperCase(t.charAt(t.length() - 1))) {
        case 'K' -> shift = 10;
        case 'M' -> shift = 20;
        case 'G' -> shift = 30;
        case 'T' -> shift = 40;
        default -> shift = 0;
      }
    }
    try {
      long n = Long.parseLong(shift == 0 ? t : t.substring(0, t.length() - 1));
      if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      return n << shift;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + s + "' is not a size: " + ACCEPTED);
    }
  }

  /** As {@link #parse}, but zero is refused too. */
  public static long positive(String s) {
    long n = parse(s);
    if (n == 0) {
      throw new IllegalArgumentException("'" + s + "' is not a positive size: " + ACCEPTED);
    }
    return n;
  }
}
