package natgw.perf.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One table of the report as Markdown, HTML and the terminal show it: a header, rows whose first cell names an
 * implementation, and per column whether it holds text (left-aligned, wrapped in HTML) and whether it counts
 * problems (red in HTML when not 0). A header may end in a parenthesis ({@code p50 x kernel-masq (lower is
 * better)}): the terminal puts that on a second header line.
 */
final class Table
{
    /** A text cell longer than this wraps in HTML, in a column kept wide enough to read ({@code td.long}). */
    static final int LONG_TEXT = 40;

    private final String[] header;
    private final List<String[]> rows;
    private final boolean[] text;
    private final boolean[] problem;

    Table(final String[] header, final List<String[]> rows)
    {
        this(header, rows, new boolean[header.length], new boolean[header.length]);
        text[0] = true;
    }

    private Table(final String[] header, final List<String[]> rows, final boolean[] text, final boolean[] problem)
    {
        this.header = header;
        this.rows = rows;
        this.text = text;
        this.problem = problem;
    }

    /** A table of {@code header} and then {@code rows}, as {@link Ratios#figureTable} gives it. */
    static Table of(final List<String[]> headerAndRows)
    {
        return new Table(headerAndRows.get(0), headerAndRows.subList(1, headerAndRows.size()));
    }

    Table text(final int column)
    {
        text[column] = true;
        return this;
    }

    Table problem(final int column)
    {
        problem[column] = true;
        return this;
    }

    String[] header()
    {
        return header.clone();
    }

    List<String[]> rows()
    {
        return rows;
    }

    /** This table with only the columns {@code keep} marks. */
    Table keep(final boolean[] keep)
    {
        final List<String[]> kept = new ArrayList<>();
        for (final String[] row : rows)
        {
            kept.add(keep(row, keep));
        }
        return new Table(keep(header, keep), kept, keep(text, keep), keep(problem, keep));
    }

    private static String[] keep(final String[] cells, final boolean[] keep)
    {
        final List<String> kept = new ArrayList<>();
        for (int c = 0; c < cells.length; c++)
        {
            if (keep[c])
            {
                kept.add(cells[c]);
            }
        }
        return kept.toArray(new String[0]);
    }

    private static boolean[] keep(final boolean[] flags, final boolean[] keep)
    {
        int n = 0;
        final boolean[] kept = new boolean[flags.length];
        for (int c = 0; c < flags.length; c++)
        {
            if (keep[c])
            {
                kept[n++] = flags[c];
            }
        }
        return Arrays.copyOf(kept, n);
    }

    /** True when every row's cell of {@code column} is {@code -}: the column says nothing. */
    boolean empty(final int column)
    {
        for (final String[] row : rows)
        {
            if (!row[column].equals("-"))
            {
                return false;
            }
        }
        return true;
    }

    String markdown()
    {
        final StringBuilder sb = new StringBuilder();
        markdownRow(sb, header);
        final String[] rule = new String[header.length];
        for (int c = 0; c < rule.length; c++)
        {
            rule[c] = text[c] ? "---" : "---:";
        }
        markdownRow(sb, rule);
        for (final String[] row : rows)
        {
            markdownRow(sb, row);
        }
        return sb.toString();
    }

    private static void markdownRow(final StringBuilder sb, final String[] cells)
    {
        sb.append('|');
        for (final String cell : cells)
        {
            sb.append(' ').append(Format.escapeMarkdown(cell)).append(" |");
        }
        sb.append('\n');
    }

    /**
     * Fixed-width columns two spaces apart; a header's parenthesis on the lines below it, wrapped to the column's
     * width, so that "(higher is better)" does not widen a column of "0.45x".
     */
    String terminal()
    {
        final int[] width = new int[header.length];
        final List<List<String>> headerLines = new ArrayList<>();
        int lines = 1;
        for (int c = 0; c < header.length; c++)
        {
            final int paren = header[c].indexOf(" (");
            final String main = paren < 0 ? header[c] : header[c].substring(0, paren);
            width[c] = main.length();
            for (final String[] row : rows)
            {
                width[c] = Math.max(width[c], row[c].length());
            }
            final List<String> column = new ArrayList<>(List.of(main));
            if (paren >= 0)
            {
                final String[] words = header[c].substring(paren + 1).split(" ");
                for (final String word : words)
                {
                    width[c] = Math.max(width[c], word.length());
                }
                String line = words[0];
                for (int w = 1; w < words.length; w++)
                {
                    if (line.length() + 1 + words[w].length() > width[c])
                    {
                        column.add(line);
                        line = words[w];
                    }
                    else
                    {
                        line += " " + words[w];
                    }
                }
                column.add(line);
            }
            lines = Math.max(lines, column.size());
            headerLines.add(column);
        }
        final List<String[]> out = new ArrayList<>();
        for (int l = 0; l < lines; l++)
        {
            final String[] line = new String[header.length];
            for (int c = 0; c < header.length; c++)
            {
                line[c] = l < headerLines.get(c).size() ? headerLines.get(c).get(l) : "";
            }
            out.add(line);
        }
        out.addAll(rows);
        final StringBuilder sb = new StringBuilder();
        for (final String[] line : out)
        {
            final StringBuilder text = new StringBuilder();
            for (int c = 0; c < line.length; c++)
            {
                final String spaces = " ".repeat(width[c] - line[c].length());
                text.append(this.text[c] ? line[c] + spaces : spaces + line[c]).append("  ");
            }
            sb.append(text.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    /**
     * The table inside a box of its own that scrolls sideways when the table is wider than the page, the
     * implementation column fixed at its left edge (CSS {@code div.wide}, {@code position: sticky}); a header's
     * parenthesis on a line of its own; each row carries its implementation's name and colour.
     */
    void html(final StringBuilder sb, final String cssClass, final String attributes)
    {
        sb.append("<div class=\"wide\"><table class=\"").append(cssClass).append('"').append(attributes)
            .append(">\n<thead><tr>");
        final boolean[] wrap = new boolean[header.length];
        for (int c = 0; c < header.length; c++)
        {
            final int paren = header[c].indexOf(" (");
            sb.append(text[c] ? "<th class=\"t\">" : "<th>");
            if (paren < 0)
            {
                sb.append(Format.htmlHeader(header[c]));
            }
            else
            {
                sb.append(Format.htmlHeader(header[c].substring(0, paren))).append("<br><span class=\"sense\">")
                    .append(Format.escapeHtml(header[c].substring(paren + 1))).append("</span>");
            }
            sb.append("</th>");
            for (final String[] row : rows)
            {
                wrap[c] |= text[c] && row[c].length() > LONG_TEXT;
            }
        }
        sb.append("</tr></thead>\n<tbody>\n");
        for (final String[] row : rows)
        {
            sb.append("<tr data-impl=\"").append(Format.escapeHtml(row[0])).append("\"><td><span class=\"key\" " +
                "style=\"background:").append(Colors.of(row[0])).append("\"></span>")
                .append(Format.escapeHtml(row[0])).append("</td>");
            for (int c = 1; c < row.length; c++)
            {
                final boolean bad = problem[c] && !row[c].equals("0") && !row[c].equals("n/a") && !row[c].equals("-");
                sb.append(wrap[c] ? "<td class=\"t long\">" : text[c] ? "<td class=\"t\">" : bad ?
                    "<td class=\"bad\">" : "<td>")
                    .append(Format.escapeHtml(row[c])).append("</td>");
            }
            sb.append("</tr>\n");
        }
        sb.append("</tbody></table></div>\n");
    }
}
