package natgw.perf.bench.behave;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The suite's table: for the terminal (behave.txt), Markdown (behave.md) and JSON (behave.json). */
public final class BehaveReport
{
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String[] HEADER = {"row", "requirement", "kernel", "natgw", "natgw verdict"};

    private BehaveReport()
    {
    }

    static void write(final Path out, final List<BehaveSuite.Result> results, final List<Target> targets)
        throws IOException
    {
        Files.writeString(out.resolve("behave.txt"), text(results));
        Files.writeString(out.resolve("behave.md"), markdown(results, targets));
        Files.writeString(out.resolve("behave.json"), JSON.writeValueAsString(json(results)));
    }

    static String verdict(final BehaveSuite.Result result)
    {
        return result.pass() ? "PASS" : "FAIL";
    }

    private static List<String[]> cells(final List<BehaveSuite.Result> results)
    {
        final List<String[]> rows = new ArrayList<>();
        for (final BehaveSuite.Result r : results)
        {
            rows.add(new String[]{r.row().key(), r.row().requirement(), r.kernel().text(), r.natgw().text(),
                verdict(r)});
        }
        return rows;
    }

    /** Fixed-width columns, for the terminal. */
    public static String text(final List<BehaveSuite.Result> results)
    {
        final List<String[]> rows = cells(results);
        final int[] width = new int[HEADER.length];
        for (final String[] row : concat(HEADER, rows))
        {
            for (int c = 0; c < row.length; c++)
            {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        final StringBuilder sb = new StringBuilder();
        for (final String[] row : concat(HEADER, rows))
        {
            for (int c = 0; c < row.length; c++)
            {
                sb.append(row[c]);
                if (c < row.length - 1)
                {
                    sb.append(" ".repeat(width[c] - row[c].length() + 2));
                }
            }
            sb.append('\n');
        }
        final long passed = results.stream().filter(BehaveSuite.Result::pass).count();
        sb.append("natgw: ").append(passed).append(" of ").append(results.size()).append(" rows PASS\n");
        return sb.toString();
    }

    private static List<String[]> concat(final String[] header, final List<String[]> rows)
    {
        final List<String[]> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        return all;
    }

    static String markdown(final List<BehaveSuite.Result> results, final List<Target> targets)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("| row | check | requirement | kernel | natgw | natgw verdict |\n");
        sb.append("| --- | --- | --- | --- | --- | --- |\n");
        for (final BehaveSuite.Result r : results)
        {
            sb.append("| ").append(String.join(" | ", r.row().key(), r.row().check(), r.row().requirement(),
                r.kernel().text(), r.natgw().text(), "**" + verdict(r) + "**").replace("\n", " ")).append(" |\n");
        }
        sb.append('\n');
        for (final Setup setup : Setup.values())
        {
            sb.append("- ").append(setup.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')).append(": ");
            final List<String> how = new ArrayList<>();
            for (final Target target : targets)
            {
                how.add(target.name() + " " + target.describe(setup));
            }
            sb.append(String.join("; ", how)).append('\n');
        }
        return sb.toString();
    }

    static ObjectNode json(final List<BehaveSuite.Result> results)
    {
        final ObjectNode root = JSON.createObjectNode();
        final ArrayNode rows = root.putArray("rows");
        for (final BehaveSuite.Result r : results)
        {
            final ObjectNode row = rows.addObject();
            row.put("key", r.row().key());
            row.put("check", r.row().check());
            row.put("requirement", r.row().requirement());
            row.put("level", r.row().level());
            row.put("setup", r.row().setup().name());
            final ArrayNode features = row.putArray("features");
            r.row().features().forEach(features::add);
            row.put("kernel", r.kernel().text());
            row.put("kernel_meets", r.kernel().met());
            row.put("natgw", r.natgw().text());
            row.put("natgw_verdict", verdict(r));
        }
        return root;
    }
}
