package io.krill.cli;

import java.util.ArrayList;
import java.util.List;

/** A unified diff of two texts (3 lines of context), for {@code --dry-run}. */
final class UnifiedDiff {
  private static final int CONTEXT = 3;

  private UnifiedDiff() {}

  private record Edit(char op, String line, int oldNo, int newNo) {}

  static String of(String oldName, String oldText, String newName, String newText) {
    List<String> a = oldText.lines().toList();
    List<String> b = newText.lines().toList();
    List<Edit> edits = edits(a, b);
    if (edits.stream().allMatch(e -> e.op == ' ')) {
      return "";
    }
    StringBuilder out = new StringBuilder("--- " + oldName + "\n+++ " + newName + "\n");
    int i = 0;
    while (i < edits.size()) {
      if (edits.get(i).op == ' ') {
        i++;
        continue;
      }
      int start = Math.max(0, i - CONTEXT);
      int end = i;
      // Extend the hunk while the next change is within two contexts of the last one.
      int lastChange = i;
      for (int j = i; j < edits.size() && j <= lastChange + 2 * CONTEXT; j++) {
        if (edits.get(j).op != ' ') {
          lastChange = j;
        }
      }
      end = Math.min(edits.size(), lastChange + CONTEXT + 1);
      List<Edit> hunk = edits.subList(start, end);
      int oldCount = (int) hunk.stream().filter(e -> e.op != '+').count();
      int newCount = (int) hunk.stream().filter(e -> e.op != '-').count();
      out.append("@@ -")
          .append(startLine(hunk, true, oldCount))
          .append(',')
          .append(oldCount)
          .append(" +")
          .append(startLine(hunk, false, newCount))
          .append(',')
          .append(newCount)
          .append(" @@\n");
      hunk.forEach(e -> out.append(e.op).append(e.line).append('\n'));
      i = end;
    }
    return out.toString();
  }

  private static int startLine(List<Edit> hunk, boolean old, int count) {
    Edit first = hunk.get(0);
    int n = old ? first.oldNo : first.newNo;
    return count == 0 ? n - 1 : n;
  }

  /** Longest-common-subsequence edit script; config files are a few hundred lines. */
  private static List<Edit> edits(List<String> a, List<String> b) {
    int[][] lcs = new int[a.size() + 1][b.size() + 1];
    for (int i = a.size() - 1; i >= 0; i--) {
      for (int j = b.size() - 1; j >= 0; j--) {
        lcs[i][j] =
            a.get(i).equals(b.get(j))
                ? lcs[i + 1][j + 1] + 1
                : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    List<Edit> out = new ArrayList<>();
    int i = 0;
    int j = 0;
    while (i < a.size() || j < b.size()) {
      if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
        out.add(new Edit(' ', a.get(i), ++i, ++j));
      } else if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
        out.add(new Edit('+', b.get(j), i + 1, ++j));
      } else {
        out.add(new Edit('-', a.get(i), ++i, j + 1));
      }
    }
    return out;
  }
}
