using System.Reflection;
using System.Xml.Linq;
using Rnnx.Layers;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Architecture;

/// <summary>
/// The dependency rule of docs/architecture.md: Rnnx.Core depends only on the BCL and
/// System.Numerics.Tensors; Rnnx.Layers and Rnnx.Optimizers are siblings that depend only on Core.
/// Checked on the compiled assemblies' references and on the project files.
/// </summary>
public class DependencyRuleTests
{
    private static readonly Assembly Core = typeof(Tensor).Assembly;
    private static readonly Assembly Layers = typeof(Layer).Assembly;
    private static readonly Assembly Optimizers = typeof(Optimizer).Assembly;

    /// <summary>The shared framework's directory (System.Private.CoreLib's): the BCL assemblies live there.</summary>
    private static readonly string FrameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;

    private static bool IsBcl(AssemblyName name) => File.Exists(Path.Combine(FrameworkDirectory, name.Name + ".dll"));

    private static bool IsRnnx(AssemblyName name) => name.Name!.StartsWith("Rnnx", StringComparison.Ordinal);

    private static string[] Describe(IEnumerable<AssemblyName> names) => [.. names.Select(n => n.Name!).Order(StringComparer.Ordinal)];

    [Test]
    public void AssembliesAreTheExpectedOnes()
    {
        Assert.That(Core.GetName().Name, Is.EqualTo("Rnnx.Core"));
        Assert.That(Layers.GetName().Name, Is.EqualTo("Rnnx.Layers"));
        Assert.That(Optimizers.GetName().Name, Is.EqualTo("Rnnx.Optimizers"));
        Assert.That(IsBcl(typeof(List<int>).Assembly.GetName()), Is.True, "the BCL check recognizes System.Collections / System.Runtime");
    }

    [Test]
    public void CoreReferencesOnlyTheBclAndSystemNumericsTensors()
    {
        var refs = Core.GetReferencedAssemblies();
        Assert.That(Describe(refs.Where(IsRnnx)), Is.Empty, "Rnnx.Core must not reference any Rnnx assembly");
        Assert.That(Describe(refs.Where(n => !IsBcl(n) && n.Name != "System.Numerics.Tensors")), Is.Empty,
            "Rnnx.Core may reference only the BCL and System.Numerics.Tensors");
    }

    [TestCase("Rnnx.Layers")]
    [TestCase("Rnnx.Optimizers")]
    public void LayersAndOptimizersReferenceOnlyCore(string assemblyName)
    {
        var assembly = assemblyName == "Rnnx.Layers" ? Layers : Optimizers;
        var refs = assembly.GetReferencedAssemblies();
        Assert.That(Describe(refs.Where(IsRnnx)), Is.EqualTo(new[] { "Rnnx.Core" }), $"{assemblyName} may reference only Rnnx.Core among the Rnnx assemblies");
        string[] packages = assemblyName == "Rnnx.Layers" ? ["System.Numerics.Tensors", "System.IO.Hashing"] : ["System.Numerics.Tensors"];
        Assert.That(Describe(refs.Where(n => !IsRnnx(n) && !IsBcl(n) && !packages.Contains(n.Name))), Is.Empty,
            $"{assemblyName} may reference nothing outside Rnnx.Core, the BCL and {string.Join(", ", packages)}");
    }

    // Rnnx.Layers' saving code checksums model files with System.IO.Hashing (a BCL-family package); nothing else may
    // bring a package into the engine.
    [TestCase("Rnnx.Core", new string[0], new[] { "System.Numerics.Tensors" })]
    [TestCase("Rnnx.Layers", new[] { "Rnnx.Core" }, new[] { "System.Numerics.Tensors", "System.IO.Hashing" })]
    [TestCase("Rnnx.Optimizers", new[] { "Rnnx.Core" }, new[] { "System.Numerics.Tensors" })]
    public void ProjectFilesFollowTheRule(string project, string[] allowed, string[] allowedPackages)
    {
        var root = FindRepositoryRoot();
        var doc = XDocument.Load(Path.Combine(root, project, project + ".csproj"));
        var projectRefs = doc.Descendants("ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value.Replace('\\', '/')))
            .Order(StringComparer.Ordinal).ToArray();
        Assert.That(projectRefs, Is.EqualTo(allowed), $"{project}.csproj project references");
        var packages = doc.Descendants("PackageReference").Select(e => e.Attribute("Include")!.Value).ToArray();
        Assert.That(packages, Is.SubsetOf(allowedPackages), $"{project}.csproj package references");
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Rnnx.sln"))) return dir.FullName;
        Assert.Fail("Rnnx.sln was not found above " + TestContext.CurrentContext.TestDirectory);
        return null!;
    }
}
