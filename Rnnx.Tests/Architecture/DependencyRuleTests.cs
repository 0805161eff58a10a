using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.CompilerServices;
using System.Xml.Linq;
using Rnnx.Layers;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Architecture;

/// <summary>
/// The dependency rule of docs/architecture.md: Rnnx.Core depends only on the BCL and
/// System.Numerics.Tensors; Rnnx.Layers and Rnnx.Optimizers are siblings that depend only on Core.
/// Checked on the compiled assemblies' references and on the project files. Layers and Optimizers use only Core's
/// public surface: no library assembly grants another access to its internals (InternalsVisibleTo only to the tests
/// and the benchmarks), and neither sibling refers to a type of the <c>Rnnx.Kernels</c> namespace (kernels are
/// Core's implementation; the public tensor operations and <c>Rnnx.Simd</c> are the surface).
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

    [Test]
    public void OnlyTheSavingCodeUsesSystemIOHashing()
    {
        string layers = Path.Combine(FindRepositoryRoot(), "Rnnx.Layers");
        var users = Directory.EnumerateFiles(layers, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f).Contains("System.IO.Hashing", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(layers, f).Replace('\\', '/')).ToArray();
        Assert.That(users, Is.EqualTo(new[] { "Saving/Crc32.cs" }));
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

    private static readonly string[] LibraryAssemblies = ["Rnnx.Core", "Rnnx.Layers", "Rnnx.Optimizers", "Rnnx.Cli"];

    [TestCase("Rnnx.Core")]
    [TestCase("Rnnx.Layers")]
    [TestCase("Rnnx.Optimizers")]
    public void NoLibraryAssemblySeesAnotherOnesInternals(string assemblyName)
    {
        var assembly = assemblyName switch { "Rnnx.Core" => Core, "Rnnx.Layers" => Layers, _ => Optimizers };
        var friends = assembly.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName.Split(',')[0].Trim()).ToArray();
        Assert.That(friends, Is.SubsetOf(new[] { "Rnnx.Tests", "Rnnx.Benchmarks" }), $"{assemblyName}: InternalsVisibleTo only the tests and benchmarks");
        Assert.That(friends.Intersect(LibraryAssemblies), Is.Empty);

        var doc = XDocument.Load(Path.Combine(FindRepositoryRoot(), assemblyName, assemblyName + ".csproj"));
        var declared = doc.Descendants("InternalsVisibleTo").Select(e => e.Attribute("Include")!.Value).ToArray();
        Assert.That(declared, Is.SubsetOf(new[] { "Rnnx.Tests", "Rnnx.Benchmarks" }), $"{assemblyName}.csproj InternalsVisibleTo items");
    }

    [TestCase("Rnnx.Layers")]
    [TestCase("Rnnx.Optimizers")]
    public void LayersAndOptimizersReferNoKernelType(string assemblyName)
    {
        var assembly = assemblyName == "Rnnx.Layers" ? Layers : Optimizers;
        using var pe = new PEReader(File.OpenRead(assembly.Location));
        var md = pe.GetMetadataReader();
        var kernelTypes = new List<string>();
        foreach (var handle in md.TypeReferences)
        {
            var (ns, name) = FullName(md, handle);
            if (ns == "Rnnx.Kernels" || ns.StartsWith("Rnnx.Kernels.", StringComparison.Ordinal)) kernelTypes.Add($"{ns}.{name}");
        }
        Assert.That(md.TypeReferences.Count, Is.GreaterThan(10), "the metadata reader sees the assembly's type references");
        Assert.That(kernelTypes, Is.Empty, $"{assemblyName} must not refer to kernel types; use the public tensor operations");
    }

    /// <summary>The namespace of a type reference (a nested type's is its outermost declaring type's) and its name.</summary>
    private static (string Namespace, string Name) FullName(MetadataReader md, TypeReferenceHandle handle)
    {
        var tr = md.GetTypeReference(handle);
        string name = md.GetString(tr.Name);
        if (tr.ResolutionScope.Kind == HandleKind.TypeReference)
        {
            var (ns, outer) = FullName(md, (TypeReferenceHandle)tr.ResolutionScope);
            return (ns, outer + "+" + name);
        }
        return (md.GetString(tr.Namespace), name);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Rnnx.sln"))) return dir.FullName;
        Assert.Fail("Rnnx.sln was not found above " + TestContext.CurrentContext.TestDirectory);
        return null!;
    }
}
