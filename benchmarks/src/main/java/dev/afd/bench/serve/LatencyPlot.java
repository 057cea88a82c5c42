package dev.afd.bench.serve;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Line charts of latency against throughput, drawn with Java2D into a PNG (no display needed). Several panels stack
 * vertically and share the x axis's meaning; each has its own y axis starting at zero.
 */
final class LatencyPlot {
    static final int WIDTH = 900;
    static final int PANEL_HEIGHT = 380;
    private static final int LEFT = 90;
    private static final int RIGHT = 30;
    private static final int TOP = 40;
    private static final int BOTTOM = 60;
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0x9467bd)};

    /** One line: its name in the legend and its points (x ascending is not required; points are drawn in order). */
    record Series(String name, double[] x, double[] y) {}

    /** One chart: a title, axis labels and its lines; {@code pointLabels} annotate the first series' points. */
    record Panel(String title, String xLabel, String yLabel, List<Series> series, List<String> pointLabels) {}

    private LatencyPlot() {}

    static void write(Path png, List<Panel> panels) throws IOException {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true"); // drawing into an image needs no display; never open one
        }
        BufferedImage image = new BufferedImage(WIDTH, PANEL_HEIGHT * panels.size(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            for (int i = 0; i < panels.size(); i++) {
                draw(g, panels.get(i), i * PANEL_HEIGHT);
            }
        } finally {
            g.dispose();
        }
        if (!ImageIO.write(image, "png", png.toFile())) {
            throw new IOException("this JDK has no PNG writer; cannot write " + png);
        }
    }

    private static void draw(Graphics2D g, Panel panel, int top) {
        int x0 = LEFT;
        int x1 = WIDTH - RIGHT;
        int y0 = top + PANEL_HEIGHT - BOTTOM; // the x axis (pixel rows grow downwards)
        int y1 = top + TOP;
        double xMax = niceCeiling(max(panel.series(), true));
        double yMax = niceCeiling(max(panel.series(), false));

        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.setColor(Color.BLACK);
        centered(g, panel.title(), (x0 + x1) / 2, top + 24);

        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        for (int t = 0; t <= 5; t++) {
            double xv = xMax * t / 5;
            int px = x0 + (int) Math.round((x1 - x0) * t / 5.0);
            double yv = yMax * t / 5;
            int py = y0 - (int) Math.round((y0 - y1) * t / 5.0);
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(px, y0, px, y1);
            g.drawLine(x0, py, x1, py);
            g.setColor(Color.DARK_GRAY);
            centered(g, tick(xv), px, y0 + fm.getAscent() + 6);
            String ys = tick(yv);
            g.drawString(ys, x0 - 8 - fm.stringWidth(ys), py + fm.getAscent() / 2 - 1);
        }
        g.setColor(Color.BLACK);
        g.drawLine(x0, y0, x1, y0);
        g.drawLine(x0, y0, x0, y1);
        centered(g, panel.xLabel(), (x0 + x1) / 2, y0 + 2 * fm.getHeight() + 10);
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        centered(g, panel.yLabel(), -(y0 + y1) / 2, x0 - 60);
        g.setTransform(saved);

        for (int s = 0; s < panel.series().size(); s++) {
            Series series = panel.series().get(s);
            Color color = COLORS[s % COLORS.length];
            g.setColor(color);
            g.setStroke(new BasicStroke(2f));
            int prevX = 0;
            int prevY = 0;
            boolean havePrev = false;
            for (int i = 0; i < series.x().length; i++) {
                if (!Double.isFinite(series.x()[i]) || !Double.isFinite(series.y()[i])) {
                    havePrev = false;
                    continue;
                }
                int px = x0 + (int) Math.round((x1 - x0) * series.x()[i] / xMax);
                int py = y0 - (int) Math.round((y0 - y1) * series.y()[i] / yMax);
                if (havePrev) {
                    g.drawLine(prevX, prevY, px, py);
                }
                g.fillOval(px - 4, py - 4, 8, 8);
                if (s == 0 && i < panel.pointLabels().size()) {
                    g.setColor(Color.GRAY);
                    g.drawString(panel.pointLabels().get(i), px + 6, py - 6);
                    g.setColor(color);
                }
                prevX = px;
                prevY = py;
                havePrev = true;
            }
            int legendY = y1 + 6 + s * (fm.getHeight() + 4);
            g.fillRect(x0 + 12, legendY, 18, 4);
            g.setColor(Color.BLACK);
            g.drawString(series.name(), x0 + 36, legendY + fm.getAscent() / 2 + 1);
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static double max(List<Series> series, boolean x) {
        double max = 0;
        for (Series s : series) {
            for (double v : x ? s.x() : s.y()) {
                if (Double.isFinite(v)) {
                    max = Math.max(max, v);
                }
            }
        }
        return max;
    }

    /** The smallest 1, 2, 2.5 or 5 times a power of ten that is at least {@code v} (and above zero). */
    static double niceCeiling(double v) {
        if (!(v > 0)) {
            return 1;
        }
        double power = Math.pow(10, Math.floor(Math.log10(v)));
        for (double step : new double[] {1, 2, 2.5, 5, 10}) {
            if (step * power >= v) {
                return step * power;
            }
        }
        return 10 * power;
    }

    private static String tick(double v) {
        if (v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 10 ? "%.1f" : "%.2f", v);
    }

    private static void centered(Graphics2D g, String text, int x, int y) {
        g.drawString(text, x - g.getFontMetrics().stringWidth(text) / 2, y);
    }
}
