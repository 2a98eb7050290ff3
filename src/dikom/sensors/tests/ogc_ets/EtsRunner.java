// Runs the OGC SensorThings API 1.0 conformance classes A.1-A.3 (opengeospatial/ets-sta10) with TestNG
// outside TEAM Engine: TEAM Engine's suite listener only puts the service root and the conformance level
// into the suite's attributes; this runner does the same and leaves the test classes untouched.
//
// Usage: java -cp <ets classes>:<testng and its dependencies> EtsRunner <service root> <output dir>
// The results are TestNG's own testng-results.xml in <output dir>.

import java.util.Arrays;
import java.util.List;

import org.testng.ISuite;
import org.testng.ISuiteListener;
import org.testng.TestNG;
import org.testng.xml.XmlClass;
import org.testng.xml.XmlSuite;
import org.testng.xml.XmlTest;

public class EtsRunner {

    public static void main(String[] args) throws Exception {
        final String root = args[0];
        XmlSuite suite = new XmlSuite();
        suite.setName("ets-sta10");
        suite.setConfigFailurePolicy(XmlSuite.FailurePolicy.CONTINUE);
        String[][] levels = {
            {"Conformance Level 1", "org.opengis.cite.sta10.sensingCore.Capability1Tests"},
            {"Conformance Level 2", "org.opengis.cite.sta10.createUpdateDelete.Capability2Tests"},
            {"Conformance Level 3", "org.opengis.cite.sta10.filteringExtension.Capability3Tests"},
        };
        for (String[] level : levels) {
            XmlTest test = new XmlTest(suite);
            test.setName(level[0]);
            test.setXmlClasses(Arrays.asList(new XmlClass(level[1])));
        }
        TestNG testng = new TestNG();
        testng.setXmlSuites(Arrays.asList(suite));
        testng.setOutputDirectory(args[1]);
        testng.setUseDefaultListeners(true);
        testng.addListener(new ISuiteListener() {
            @Override
            public void onStart(ISuite running) {
                running.setAttribute("testSubject", root);
                running.setAttribute("level", Integer.valueOf(3));
            }

            @Override
            public void onFinish(ISuite running) {
            }
        });
        testng.run();
        System.exit(testng.getStatus());
    }
}
