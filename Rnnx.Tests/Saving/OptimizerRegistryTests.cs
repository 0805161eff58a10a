using System.Numerics;
using System.Reflection;
using System.Runtime.Loader;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimization;
using Rnnx.Optimizers;
using Rnnx.Saving;
using Rnnx.Tests.Models;

namespace Rnnx.Tests.Saving;

/// <summary>
/// How saving finds optimizers without Rnnx.Layers referencing Rnnx.Optimizers: configs through the Core contract
/// (<see cref="ICheckpointableOptimizer"/>, <see cref="OptimizerConfig"/>), creation through <see cref="OptimizerRegistry"/>,
/// and the by-name fallback that loads Rnnx.Optimizers when nothing has touched it yet.
/// </summary>
[TestFixture]
public sealed class OptimizerRegistryTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup() => _dir = TestModels.TempDir();

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // ------------------------------------------------------------------ registry

    [Test]
    public void BuiltInsAreRegisteredAndCannotBeReplaced()
    {
        foreach (var name in new[] { "Nadam", "Adam", "Sgd", "RmsProp" })
        {
            Assert.That(OptimizerRegistry.IsRegistered(name), Is.True, name);
            Assert.Throws<ArgumentException>(() => OptimizerRegistry.Register(name, c => new TestSgd(c.LearningRate)), name);
            Assert.That(OptimizerRegistry.Unregister(name), Is.False, name);
        }
        Assert.That(Optimizer.BuiltInNames, Is.EqualTo(new[] { "Nadam", "Adam", "Sgd", "RmsProp" }));
        Assert.That(OptimizerRegistry.IsRegistered("NoSuchOptimizer"), Is.False);
        var e = Assert.Throws<InvalidOperationException>(() => OptimizerRegistry.Create(new OptimizerConfig("NoSuchOptimizer")))!;
        Assert.That(e.Message, Is.EqualTo("optimizer 'NoSuchOptimizer' is not available: reference Rnnx.Optimizers or register it with OptimizerRegistry.Register"));
    }

    public static IEnumerable<TestCaseData> Configurations()
    {
        yield return C("Nadam", () => new Nadam(0.002, beta1: 0.8, beta2: 0.99, epsilon: 1e-6));
        yield return C("NadamLegacyClipNorm", () => new Nadam(0.01, schedule: NadamSchedule.Legacy) { ClipNorm = 0.75 });
        yield return C("AdamAmsgradGlobalClip", () => new Adam(0.003, amsgrad: true) { GlobalClipNorm = 2 });
        yield return C("SgdNesterovClipValue", () => new Sgd(0.05, momentum: 0.9, nesterov: true) { ClipValue = 0.5 });
        yield return C("RmsPropCenteredExponentialDecay", () => new RmsProp(0.01, rho: 0.8, momentum: 0.5, centered: true)
        {
            LearningRateSchedule = new ExponentialDecay(0.01, long.MaxValue / 3, 0.9, staircase: true),
        });
        yield return C("AdamPiecewiseConstant", () => new Adam
        {
            LearningRateSchedule = new PiecewiseConstant([10, (1L << 53) + 1], [0.1, 0.05, 1e-300]),
        });

        static TestCaseData C(string name, Func<Optimizer> create) => new TestCaseData(create).SetArgDisplayNames(name);
    }

    [TestCaseSource(nameof(Configurations))]
    public void ConfigsRoundTripThroughTheRegistryAndJson(Func<Optimizer> create)
    {
        var original = create();
        var config = original.GetConfig();
        Assert.That(config.ClassName, Is.EqualTo(original.GetType().Name));

        var direct = (Optimizer)OptimizerRegistry.Create(config);
        Assert.That(direct.GetType(), Is.EqualTo(original.GetType()));
        Assert.That(direct.GetConfig().ToString(), Is.EqualTo(config.ToString()));
        Assert.That(direct.LearningRate, Is.EqualTo(original.LearningRate));

        var json = OptimizerSerializer.Describe(original);
        var reread = OptimizerSerializer.ToConfig(json, config.LearningRate);
        var viaJson = (Optimizer)OptimizerSerializer.Create(json, config.LearningRate);
        Assert.That(OptimizerSerializer.Describe(viaJson).ToJsonString(), Is.EqualTo(json.ToJsonString()));
        Assert.That(viaJson.GetConfig().ToString(), Is.EqualTo(config.ToString()));
        Assert.That(reread.LearningRateSchedule?.ToString(), Is.EqualTo(config.LearningRateSchedule?.ToString()));
        Assert.That((viaJson.ClipNorm, viaJson.GlobalClipNorm, viaJson.ClipValue), Is.EqualTo((original.ClipNorm, original.GlobalClipNorm, original.ClipValue)));
        for (long step = 0; step < 40; step += 7)
            Assert.That(BitConverter.DoubleToInt64Bits(viaJson.LearningRateSchedule?.LearningRate(step) ?? viaJson.LearningRate),
                Is.EqualTo(BitConverter.DoubleToInt64Bits(original.LearningRateSchedule?.LearningRate(step) ?? original.LearningRate)), $"step {step}");
    }

    [Test]
    public void OptimizerConfigGettersReportMissingAndMistypedSettings()
    {
        var c = new OptimizerConfig("X").Set("a", 1.5).Set("n", 3).Set("b", true).Set("s", "text").Set("d", new[] { 1.0, 2.5 }).Set("l", new long[] { 1, 2 });
        Assert.That(c.Keys, Is.EqualTo(new[] { "a", "n", "b", "s", "d", "l" }));
        Assert.That((c.GetDouble("a"), c.GetDouble("n"), c.GetLong("n"), c.GetBool("b"), c.GetString("s")), Is.EqualTo((1.5, 3.0, 3L, true, "text")));
        Assert.That(c.GetDoubleArray("l"), Is.EqualTo(new[] { 1.0, 2.0 }));
        Assert.That(c.GetLongArray("l"), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(c.GetDouble("missing", 7.0), Is.EqualTo(7.0));
        Assert.That(Assert.Throws<FormatException>(() => c.GetDouble("missing"))!.Message, Is.EqualTo("'missing' (a finite number) is missing"));
        Assert.That(Assert.Throws<FormatException>(() => c.GetLong("a"))!.Message, Is.EqualTo("'a' is not an integer (found 1.5)"));
        Assert.That(Assert.Throws<FormatException>(() => c.GetBool("s"))!.Message, Is.EqualTo("'s' is not true or false (found \"text\")"));
        Assert.Throws<FormatException>(() => c.GetLongArray("d"));
        Assert.Throws<ArgumentException>(() => c.Set("class", 1.0));
        Assert.Throws<ArgumentException>(() => c.Set("learning_rate_schedule", 1.0));
        Assert.Throws<ArgumentException>(() => c.Set("x", double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.LearningRate = -1);
    }

    [Test]
    public void AMissingSettingInAFileIsAModelFormatException()
    {
        var json = OptimizerSerializer.Describe(new Nadam());
        json.Remove("beta2");
        var e = Assert.Throws<ModelFormatException>(() => OptimizerSerializer.Create(json, 0.001))!;
        Assert.That(e.Message, Does.Contain("optimizer Nadam: 'beta2' (a finite number) is missing"));
        json = OptimizerSerializer.Describe(new Nadam());
        json["schedule"] = "Keras4";
        e = Assert.Throws<ModelFormatException>(() => OptimizerSerializer.Create(json, 0.001))!;
        Assert.That(e.Message, Does.Contain("unknown Nadam schedule 'Keras4'"));
        json = OptimizerSerializer.Describe(new Nadam());
        json["beta1"] = new System.Text.Json.Nodes.JsonObject();
        e = Assert.Throws<ModelFormatException>(() => OptimizerSerializer.Create(json, 0.001))!;
        Assert.That(e.Message, Does.Contain("setting 'beta1' is not a number"));
    }

    // ------------------------------------------------------------------ custom optimizers

    private static (Tensor X, Tensor Y) Data() =>
        (TestModels.Input([4], 64, DType.Float32, seed: 3), TestModels.Input([1], 64, DType.Float32, seed: 4));

    private static Sequential Tiny() => new(new Dense(5, "tanh", inputShape: [4]), new Dense(1));

    [Test]
    public void AnUnregisteredOptimizerIsAClearErrorUntilRegistered()
    {
        var (x, y) = Data();
        var m = Tiny();
        m.Compile(new TestSgd(0.05), Losses.Loss.MeanSquaredError);
        m.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0);
        string path = Path.Combine(_dir, "testsgd.rnnx");
        m.Save(path);

        var e = Assert.Throws<ModelFormatException>(() => Sequential.Load(path))!;
        Assert.That(e.Message, Does.Contain("optimizer 'TestSgd' is not available: reference Rnnx.Optimizers or register it with OptimizerRegistry.Register"));
        Assert.That(Sequential.Load(path, compile: false).Optimizer, Is.Null);

        OptimizerRegistry.Register("TestSgd", c => new TestSgd(c.LearningRate));
        try
        {
            var loaded = Sequential.Load(path);
            Assert.That(loaded.Optimizer, Is.InstanceOf<TestSgd>());
            TestModels.AssertSame(TestModels.Snapshot(loaded), TestModels.Snapshot(m), "weights");
        }
        finally
        {
            Assert.That(OptimizerRegistry.Unregister("TestSgd"), Is.True);
        }
    }

    /// <summary>A custom optimizer (sign of a momentum average, like Lion without its second β): one slot, one setting.</summary>
    private sealed class SignMomentum(double learningRate, double beta) : Optimizer(learningRate, "momentum")
    {
        public double Beta { get; } = beta;

        protected override void WriteConfig(OptimizerConfig config) => config.Set("beta", Beta);

        protected override void Update(in ParameterUpdate<float> update) => Apply(update);

        protected override void Update(in ParameterUpdate<double> update) => Apply(update);

        private void Apply<T>(in ParameterUpdate<T> u) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        {
            var w = u.Value;
            var g = u.Gradient;
            var m = u.Slot(0);
            T beta = T.CreateTruncating(Beta), oneMinusBeta = T.One - beta;
            for (int i = 0; i < w.Length; i++)
            {
                m[i] = beta * m[i] + oneMinusBeta * g[i];
                w[i] -= u.LearningRate * T.CreateTruncating(T.Sign(m[i]));
            }
        }

        public static void Register() => OptimizerRegistry.Register(nameof(SignMomentum), c =>
        {
            var o = new SignMomentum(c.LearningRate, c.GetDouble("beta"));
            o.ApplySharedConfig(c);
            return o;
        });
    }

    [Test]
    public void ACustomOptimizerResumesBitForBitThroughTheRegistry()
    {
        SignMomentum.Register();
        try
        {
            var (x, y) = Data();
            SignMomentum Create() => new(0.01, 0.7) { ClipValue = 0.5, LearningRateSchedule = new PiecewiseConstant([5], [0.01, 0.004]) };

            var straight = Tiny();
            straight.Compile(Create(), Losses.Loss.MeanSquaredError);
            straight.Fit(x, y, epochs: 4, batchSize: 16, verbose: 0);

            var first = Tiny();
            first.Compile(Create(), Losses.Loss.MeanSquaredError);
            var ckpt = new ModelCheckpoint(Path.Combine(_dir, "sign-{epoch:02d}.rnnx"));
            first.Fit(x, y, epochs: 2, batchSize: 16, callbacks: [ckpt], verbose: 0);

            var resumed = ModelIO.LoadCheckpoint(ckpt.SavedPaths[^1]);
            var opt = (SignMomentum)resumed.Model.Optimizer!;
            Assert.That((opt.Beta, opt.ClipValue, opt.Iterations), Is.EqualTo((0.7, (double?)0.5, 8L)));
            Assert.That(opt.LearningRateSchedule, Is.InstanceOf<PiecewiseConstant>());
            resumed.Model.Fit(x, y, epochs: 4, batchSize: 16, verbose: 0, initialEpoch: resumed.Epoch);
            TestModels.AssertSame(TestModels.Snapshot(resumed.Model), TestModels.Snapshot(straight), "resumed vs straight");
        }
        finally
        {
            OptimizerRegistry.Unregister(nameof(SignMomentum));
        }
    }

    // ------------------------------------------------------------------ by-name fallback

    /// <summary>
    /// A fresh load context holding its own Rnnx.Core and Rnnx.Layers (as a process that has not touched an optimizer
    /// yet); Rnnx.Optimizers is loaded only if something asks for it, or reported missing.
    /// </summary>
    private sealed class FreshContext(string directory, bool optimizersDeployed) : AssemblyLoadContext("rnnx-fresh", isCollectible: true)
    {
        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is "Rnnx.Core" or "Rnnx.Layers")
                return LoadFromAssemblyPath(Path.Combine(directory, name.Name + ".dll"));
            if (name.Name == "Rnnx.Optimizers")
                return optimizersDeployed
                    ? LoadFromAssemblyPath(Path.Combine(directory, name.Name + ".dll"))
                    : throw new FileNotFoundException("Rnnx.Optimizers is not deployed in this test context.", "Rnnx.Optimizers.dll");
            return null;   // the BCL and System.Numerics.Tensors come from the default context
        }
    }

    private string SaveScheduledNadamModel(out long iterations)
    {
        var (x, y) = Data();
        var m = Tiny();
        m.Compile(new Nadam(0.01) { LearningRateSchedule = new ExponentialDecay(0.01, 3, 0.5) }, Losses.Loss.MeanSquaredError);
        m.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0);
        iterations = m.Optimizer!.Iterations;
        string path = Path.Combine(_dir, $"nadam-{Guid.NewGuid():N}.rnnx");
        m.Save(path);
        return path;
    }

    private static object? InvokeLoad(AssemblyLoadContext context, string path)
    {
        var layers = context.LoadFromAssemblyName(new AssemblyName("Rnnx.Layers"));
        var load = layers.GetType("Rnnx.Saving.ModelIO", throwOnError: true)!.GetMethod("Load", [typeof(string), typeof(bool), layers.GetType("Rnnx.Saving.ModelLoadOptions", throwOnError: true)!])!;
        Assert.That(context.Assemblies.Select(a => a.GetName().Name), Does.Not.Contain("Rnnx.Optimizers"), "nothing touched Rnnx.Optimizers before loading");
        try
        {
            return load.Invoke(null, [path, true, null]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    [Test]
    public void LoadingFindsTheOptimizersAssemblyByNameWhenNothingTouchedItYet()
    {
        string path = SaveScheduledNadamModel(out long iterations);
        string directory = Path.GetDirectoryName(typeof(Optimizer).Assembly.Location)!;
        var context = new FreshContext(directory, optimizersDeployed: true);
        try
        {
            var model = InvokeLoad(context, path)!;
            Assert.That(AssemblyLoadContext.GetLoadContext(model.GetType().Assembly), Is.SameAs(context), "the model comes from the fresh context");
            var optimizer = model.GetType().GetProperty("Optimizer")!.GetValue(model)!;
            Assert.That(optimizer.GetType().FullName, Is.EqualTo("Rnnx.Optimizers.Nadam"));
            Assert.That(AssemblyLoadContext.GetLoadContext(optimizer.GetType().Assembly), Is.SameAs(context),
                "Rnnx.Optimizers was loaded into the fresh context by name");
            Assert.That(optimizer.GetType().GetProperty("Iterations")!.GetValue(optimizer), Is.EqualTo(iterations));
            var schedule = optimizer.GetType().GetProperty("LearningRateSchedule")!.GetValue(optimizer)!;
            Assert.That(schedule.GetType().Name, Is.EqualTo("ExponentialDecay"));
        }
        finally
        {
            context.Unload();
        }
    }

    [Test]
    public void LoadingWithoutTheOptimizersAssemblyIsAClearError()
    {
        string path = SaveScheduledNadamModel(out _);
        string directory = Path.GetDirectoryName(typeof(Optimizer).Assembly.Location)!;
        var context = new FreshContext(directory, optimizersDeployed: false);
        try
        {
            var e = Assert.Catch(() => InvokeLoad(context, path))!;
            Assert.That(e.GetType().FullName, Is.EqualTo("Rnnx.Saving.ModelFormatException"));
            Assert.That(e.Message, Does.Contain("optimizer 'Nadam' is not available: reference Rnnx.Optimizers or register it with OptimizerRegistry.Register"));
            Assert.That(context.Assemblies.Select(a => a.GetName().Name), Does.Not.Contain("Rnnx.Optimizers"));
        }
        finally
        {
            context.Unload();
        }
    }
}
