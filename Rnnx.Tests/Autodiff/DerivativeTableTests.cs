using System.Collections;
using System.Reflection;
using Rnnx.Autodiff;

namespace Rnnx.Tests.Autodiff;

/// <summary>
/// Keeps docs/derivatives.md in step with the code: every op (every non-abstract subclass of the internal
/// <see cref="Op"/>; all of them live in Rnnx.Core, which owns every derivative) must have a row named by its
/// <see cref="Op.Name"/>, and every row must name an existing op.
/// </summary>
public class DerivativeTableTests
{
    /// <summary>
    /// Assemblies searched for ops. Only Rnnx.Core may define ops (Op is internal to it and no library assembly sees
    /// its internals); the others are searched so that an op added elsewhere through some back door is still caught.
    /// </summary>
    private static readonly string[] OpAssemblies = ["Rnnx.Core", "Rnnx.Layers", "Rnnx.Optimizers"];

    private const int Columns = 6;

    private static IEnumerable<Assembly> Assemblies()
    {
        yield return typeof(Op).Assembly;
        foreach (var name in OpAssemblies)
        {
            if (name == typeof(Op).Assembly.GetName().Name) continue;
            yield return Assembly.Load(name);   // a project reference of Rnnx.Tests, so it is next to the test assembly
        }
    }

    /// <summary>Non-abstract subclasses of <see cref="Op"/> and the singleton instances found in their static fields.</summary>
    private static List<(Type Type, List<Op> Instances)> OpTypes()
    {
        var result = new List<(Type, List<Op>)>();
        foreach (var asm in Assemblies())
            foreach (var type in asm.GetTypes().Where(t => t.IsClass && !t.IsAbstract && typeof(Op).IsAssignableFrom(t)))
            {
                var instances = new List<Op>();
                foreach (var field in type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    object? value = field.GetValue(null);
                    if (value is Op op) instances.Add(op);
                    else if (value is IEnumerable items and not string)
                        instances.AddRange(items.OfType<Op>());
                }
                result.Add((type, instances.Where(o => o.GetType() == type).Distinct().ToList()));
            }
        return result;
    }

    private static string FindTable()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "docs", "derivatives.md");
            if (File.Exists(path) && File.Exists(Path.Combine(dir.FullName, "Rnnx.sln"))) return path;
        }
        Assert.Fail("docs/derivatives.md was not found above " + TestContext.CurrentContext.TestDirectory);
        return null!;
    }

    /// <summary>The rows of the table whose header starts with "| Op |", keyed by the op name in the first cell.</summary>
    private static List<(string Name, string[] Cells)> TableRows()
    {
        var rows = new List<(string, string[])>();
        bool inTable = false;
        foreach (var raw in File.ReadLines(FindTable()))
        {
            var line = raw.Trim();
            if (!inTable)
            {
                inTable = line.StartsWith("| Op |", StringComparison.Ordinal);
                continue;
            }
            if (!line.StartsWith('|')) break;
            if (line.StartsWith("|---", StringComparison.Ordinal)) continue;
            // Cells are separated by unescaped pipes (\| is a literal pipe, as in |x|).
            var cells = System.Text.RegularExpressions.Regex.Split(line.Trim('|'), @"(?<!\\)\|").Select(c => c.Trim()).ToArray();
            rows.Add((cells[0].Trim('`'), cells));
        }
        return rows;
    }

    [Test]
    public void EveryOpType_ExposesItsSingletonInstances()
    {
        var types = OpTypes();
        Assert.That(types, Is.Not.Empty);
        foreach (var (type, instances) in types)
            Assert.That(instances, Is.Not.Empty,
                $"{type.FullName} has no static field holding its instance(s); ops are stateless singletons (a static readonly Instance or Instances field), so this test can read their names.");
    }

    [Test]
    public void EveryOp_HasARow()
    {
        var documented = TableRows().Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var names = OpTypes().SelectMany(t => t.Instances).Select(o => o.Name).ToList();
        Assert.That(names, Is.Not.Empty);
        var missing = names.Where(n => !documented.Contains(n)).ToList();
        Assert.That(missing, Is.Empty, "ops without a row in docs/derivatives.md");
    }

    [Test]
    public void EveryRow_NamesAnOp_OnceAndComplete()
    {
        var names = OpTypes().SelectMany(t => t.Instances).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var rows = TableRows();
        Assert.That(rows, Is.Not.Empty);
        Assert.That(rows.Select(r => r.Name).Where(n => !names.Contains(n)), Is.Empty, "rows naming no op");
        Assert.That(rows.GroupBy(r => r.Name).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty, "duplicate rows");
        foreach (var (name, cells) in rows)
        {
            Assert.That(cells, Has.Length.EqualTo(Columns), $"row {name}: expected {Columns} cells");
            Assert.That(cells.Where(string.IsNullOrWhiteSpace), Is.Empty, $"row {name} has an empty cell");
        }
    }

    [Test]
    public void KnownOps_AreFound()
    {
        // Guards the reflection itself: these are the Core ops at the time of writing.
        var names = OpTypes().SelectMany(t => t.Instances).Select(o => o.Name).ToList();
        Assert.That(names, Is.SupersetOf(new[]
        {
            "Add", "Subtract", "Multiply", "Divide", "Negate", "Exp", "Log", "Sqrt", "Square", "Tanh", "Sigmoid", "Relu", "Abs",
            "MatMul", "Reshape", "Transpose", "Slice", "Concat", "Sum", "MeanSquaredError", "MeanAbsoluteError", "Huber", "Conv1D", "LayerNorm",
        }));
        Assert.That(names, Is.Unique);
    }
}
