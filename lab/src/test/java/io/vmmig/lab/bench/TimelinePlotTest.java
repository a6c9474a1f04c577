package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

class TimelinePlotTest {
    private static final long MIB = 1 << 20;

    @Test
    void wellFormedSvgWithOneLinePairPerStrategyAndCutoverMarks() throws Exception {
        List<RunResult> runs = List.of(ResultsTableTest.run(BenchStrategy.HYBRID, 1, 9000, 70 * MIB, 100 * MIB, 8 * MIB),
                ResultsTableTest.run(BenchStrategy.PRECOPY, 1, 40000, 80 * MIB, 400 * MIB, 4 * MIB));
        String svg = TimelinePlot.svg("heavy <&> 100mbit", runs);
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        assertEquals("svg", doc.getDocumentElement().getTagName());
        assertEquals(4, doc.getElementsByTagName("polyline").getLength(), "wire and throughput per strategy");
        assertEquals(2 * 2, svg.split("stroke-dasharray=\"5,4\"", -1).length - 1, "a cutover line per panel and strategy");
        assertTrue(svg.contains(">hybrid<") && svg.contains(">precopy<"));
        assertTrue(svg.contains("heavy &lt;&amp;&gt; 100mbit"));
        assertTrue(svg.contains("cutover 39.9 s, end 40.0 s"), "the legend gives the precopy times");
    }

    @Test
    void axisMaximaAreRoundNumbers() {
        assertEquals(500, TimelinePlot.niceCeil(401));
        assertEquals(200, TimelinePlot.niceCeil(101));
        assertEquals(1, TimelinePlot.niceCeil(1));
        assertEquals(0.5, TimelinePlot.niceCeil(0.31), 1e-12);
    }
}
