using System.Buffers.Binary;
using System.Text;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Saving;

namespace Rnnx.Tests.Saving;

/// <summary>Malformed, truncated and corrupted files: always a <see cref="ModelFormatException"/>, and the model is unchanged.</summary>
[TestFixture]
public sealed class HostileFileTests
{
    private string _dir = "";
    private Sequential _target = null!;
    private double[][] _before = [];

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = TestModels.TempDir();
    }

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [SetUp]
    public void NewTarget()
    {
        _target = new Sequential(new Dense(2, inputShape: [3]));
        _target.Build();
        TestModels.Perturb(_target, 5);
        _before = TestModels.Snapshot(_target);
    }

    private string WriteFile(byte[] bytes, string name = "f.safetensors")
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private ModelFormatException LoadWeightsFails(byte[] bytes)
    {
        string path = WriteFile(bytes);
        var e = Assert.Throws<ModelFormatException>(() => _target.LoadWeights(path))!;
        TestModels.AssertSame(TestModels.Snapshot(_target), _before, "weights changed by a failed load");
        Assert.That(e.Message, Does.StartWith(path));
        return e;
    }

    /// <summary>A weights file for <c>Dense(2)</c> on 3 inputs with the given tensor entries, and a valid checksum.</summary>
    private static byte[] Craft(string tensors, int dataBytes, bool checksum = true, string format = "weights")
    {
        string meta = checksum ? $"\"__metadata__\":{{\"rnnx.format\":\"{format}\",\"rnnx.version\":\"1\",\"rnnx.crc32\":\"00000000\"}}" : "\"__metadata__\":{\"source\":\"elsewhere\"}";
        string header = "{" + meta + (tensors.Length > 0 ? "," + tensors : "") + "}";
        var data = new byte[dataBytes];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 7);
        return SafeTensorsFile.Assemble(Encoding.UTF8.GetBytes(header), data);
    }

    private const string Kernel = "\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]}";
    private const string Bias = "\"dense/bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}";

    [Test]
    public void CraftedBaselineLoads()
    {
        _target.LoadWeights(WriteFile(Craft(Kernel + "," + Bias, 32)));
        Assert.That(TestModels.Snapshot(_target), Is.Not.EqualTo(_before));
        _target.LoadWeights(WriteFile(Craft(Kernel + "," + Bias, 32, checksum: false)));   // files from other tools carry no checksum
    }

    private static IEnumerable<TestCaseData> Defects()
    {
        TestCaseData C(string name, string tensors, int data, string expected) => new TestCaseData(tensors, data, expected).SetName("Defect_" + name);
        yield return C("WrongDType", Kernel.Replace("\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]", "\"F64\",\"shape\":[3,2],\"data_offsets\":[0,48]") + "," + Bias.Replace("[24,32]", "[48,56]"), 56, "is F64 but the model's weight is F32");
        yield return C("UnsupportedDType", Kernel.Replace("F32", "F16").Replace("[0,24]", "[0,12]") + "," + Bias.Replace("[24,32]", "[12,20]"), 20, "dtype F16");
        yield return C("UnknownDType", Kernel.Replace("F32", "Q7") + "," + Bias, 32, "unknown dtype 'Q7'");
        yield return C("WrongShape", Kernel.Replace("[3,2]", "[2,3]") + "," + Bias, 32, "has shape [2, 3] but the model's weight has shape [3, 2]");
        yield return C("ShapeBytesMismatch", Kernel.Replace("[3,2]", "[3,3]") + "," + Bias, 32, "needs 36 bytes");
        yield return C("Overlap", Kernel + "," + Bias.Replace("[24,32]", "[16,24]") + ",\"pad\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}", 32, "overlap");
        yield return C("Gap", Kernel + "," + Bias.Replace("[24,32]", "[28,36]"), 36, "belong to no tensor");
        yield return C("TrailingBytes", Kernel + "," + Bias, 40, "8 trailing bytes");
        yield return C("Missing", Kernel, 24, "'dense/bias' (F32 [2]) of the model is missing");
        yield return C("Extra", Kernel + "," + Bias + ",\"dense/extra\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[32,36]}", 36, "tensor 'dense/extra' is not a weight of the model");
        yield return C("OptimizerTensorInWeightsFile", Kernel + "," + Bias + ",\"__optimizer__/dense/bias/m\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]}", 40, "not a weight of the model");
        yield return C("PastTheEnd", Kernel + "," + Bias, 28, "run past the end");
        yield return C("EndBeforeBegin", Kernel + "," + Bias.Replace("[24,32]", "[32,24]"), 32, "end before they begin");
        yield return C("Duplicate", Kernel + "," + Bias + "," + Bias, 32, "names 'dense/bias' twice");
        yield return C("NegativeOffset", Kernel.Replace("[0,24]", "[-1,24]") + "," + Bias, 32, "data_offsets[0] is not a non-negative integer");
        yield return C("FractionalDim", Kernel.Replace("[3,2]", "[3,2.5]") + "," + Bias, 32, "shape dimension 1");
        yield return C("HugeShape", Kernel.Replace("[3,2]", "[2147483647,2147483647,2147483647]") + "," + Bias, 32, "elements");
        yield return C("MissingDType", Kernel.Replace("\"dtype\":\"F32\",", "") + "," + Bias, 32, "dtype is missing");
        yield return C("UnknownKey", Kernel.Replace("\"dtype\"", "\"color\":1,\"dtype\"") + "," + Bias, 32, "unknown key 'color'");
        yield return C("EntryNotObject", "\"dense/kernel\":[1,2]," + Bias, 32, "not a JSON object");
        yield return C("EmptyName", "\"\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]}," + Kernel + "," + Bias, 32, "empty name");
    }

    [TestCaseSource(nameof(Defects))]
    public void DefectIsReported(string tensors, int dataBytes, string expected)
    {
        var e = LoadWeightsFails(Craft(tensors, dataBytes));
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void OffsetsAreReported()
    {
        var e = LoadWeightsFails(Craft(Kernel + "," + Bias.Replace("[24,32]", "[28,36]"), 36));
        Assert.That(e.Offset, Is.Not.Null);
        Assert.That(e.Message, Does.Contain("(at byte"));
    }

    [TestCase(ulong.MaxValue)]
    [TestCase(1UL << 63)]
    [TestCase((ulong)int.MaxValue + 1)]
    [TestCase(100_000UL)]
    [TestCase(0UL)]
    [TestCase(1UL)]
    public void BadHeaderLengthIsRefusedWithoutAllocating(ulong length)
    {
        var bytes = Craft(Kernel + "," + Bias, 32);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = LoadWeightsFails(bytes);
        Assert.That(e.Message, Does.Contain("header length"));
        Assert.That(e.Offset, Is.EqualTo(0));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - allocated, Is.LessThan(1 << 20));
    }

    [Test]
    public void HeaderLengthOverTheCapIsRefused()
    {
        var bytes = new byte[8 + SafeTensorsFile.MaxHeaderLength + 16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)SafeTensorsFile.MaxHeaderLength + 8);
        var e = LoadWeightsFails(bytes);
        Assert.That(e.Message, Does.Contain("exceeds the limit"));
    }

    [TestCase("", "the file is 0 bytes")]
    [TestCase("[1,2,3,4,5,6,7,8]", "does not start with '{'")]
    [TestCase("{\"a\":", "not valid JSON")]
    [TestCase("{\"__metadata__\":[1]}", "__metadata__ is not a JSON object")]
    [TestCase("{\"__metadata__\":{\"k\":1}}", "__metadata__ value 'k' is not a string")]
    [TestCase("{\"__metadata__\":{\"rnnx.crc32\":\"xyz\"}}", "not 8 lowercase hex digits")]
    [TestCase("{\"__metadata__\":{\"rnnx.crc32\":\"ABCDEF01\"}}", "not 8 lowercase hex digits")]
    [TestCase("{\"__metadata__\":{\"rnnx.format\":\"weights\"}}", "no 'rnnx.crc32' checksum")]
    [TestCase("{} trailing", "not valid JSON")]
    public void MalformedHeaders(string header, string expected)
    {
        byte[] bytes = header.Length == 0 ? [] : SafeTensorsFile.Assemble(Encoding.UTF8.GetBytes(header), [], fixChecksum: false);
        var e = LoadWeightsFails(bytes);
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void InvalidUtf8InHeader()
    {
        var header = Encoding.UTF8.GetBytes("{\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},\"de\xff\":{}}".Replace("\xff", "~"));
        int at = Array.IndexOf(header, (byte)'~');
        header[at] = 0xFF;
        LoadWeightsFails(SafeTensorsFile.Assemble(header, new byte[24], fixChecksum: false));
    }

    [Test]
    public void CorruptedDataFailsTheChecksum()
    {
        var bytes = Craft(Kernel + "," + Bias, 32);
        bytes[^3] ^= 0x10;
        var e = LoadWeightsFails(bytes);
        Assert.That(e.Message, Does.Contain("checksum does not match"));
    }

    // ------------------------------------------------------------------ whole files: every truncation, random flips

    private (byte[] Model, byte[] Weights, Sequential Target) SmallFiles()
    {
        var m = new Sequential(new SimpleRNN(2, returnSequences: true, inputShape: [null, 1]), new GRU(2), new Dense(1));
        m.Compile(new Nadam(), Losses.Loss.MeanSquaredError);
        var x = TestModels.Input([4, 1], 8, DType.Float32);
        var y = TestModels.Input([1], 8, DType.Float32, 3);
        m.Fit(x, y, epochs: 1, batchSize: 4, verbose: 0);
        string mp = Path.Combine(_dir, "small.rnnx"), wp = Path.Combine(_dir, "small.safetensors");
        m.Save(mp, new SaveOptions { Epoch = 1 });
        m.SaveWeights(wp);
        var target = new Sequential(new SimpleRNN(2, returnSequences: true, inputShape: [null, 1]), new GRU(2), new Dense(1)) { Seed = 99 };
        target.Compile(new Nadam(), Losses.Loss.MeanSquaredError);
        target.Build();
        return (File.ReadAllBytes(mp), File.ReadAllBytes(wp), target);
    }

    /// <summary>Every load entry point rejects the bytes with a ModelFormatException (in memory: the same code as from a file, minus the disk).</summary>
    private static void AllLoadsFail(byte[] bytes, Sequential target, Func<string> what)
    {
        Expect(() => ModelIO.LoadWeightsFromBytes(target, bytes, "hostile.rnnx"), what);
        Expect(() => ModelIO.LoadFromBytes(bytes, "hostile.rnnx"), what);
        Expect(() => ModelIO.RestoreCheckpointFromBytes(target, bytes, "hostile.rnnx"), what);
        Expect(() => ModelIO.InspectBytes(bytes, "hostile.rnnx"), what);
    }

    private static void Expect(Action load, Func<string> what)
    {
        try
        {
            load();
        }
        catch (ModelFormatException)
        {
            return;
        }
        catch (Exception e)
        {
            Assert.Fail($"{what()}: {e.GetType().Name} instead of ModelFormatException: {e.Message}");
        }
        Assert.Fail($"{what()}: loaded without error");
    }

    [Test]
    public void TruncationAtEveryByteIsAFormatError()
    {
        var (model, weights, target) = SmallFiles();
        var before = TestModels.Snapshot(target);
        foreach (var file in new[] { model, weights })
        {
            // Sanity: the whole file loads.
            Assert.DoesNotThrow(() => ModelIO.LoadWeights(new Sequential(new SimpleRNN(2, returnSequences: true, inputShape: [null, 1]), new GRU(2), new Dense(1)), WriteFile(file, "ok.rnnx")));
            for (int len = 0; len < file.Length; len++)
                AllLoadsFail(file.AsSpan(0, len).ToArray(), target, () => $"truncated to {len} of {file.Length} bytes");
        }
        TestModels.AssertSame(TestModels.Snapshot(target), before, "weights after the failed loads");
        Assert.That(target.Optimizer!.Iterations, Is.EqualTo(0));
    }

    [Test]
    public void RandomByteFlipsAreFormatErrors()
    {
        var (model, weights, target) = SmallFiles();
        var before = TestModels.Snapshot(target);
        var rng = new System.Random(20240601);
        foreach (var file in new[] { model, weights })
            for (int k = 0; k < 2500; k++)
            {
                var bytes = (byte[])file.Clone();
                int at = rng.Next(bytes.Length);
                byte mask = (byte)rng.Next(1, 256);
                bytes[at] ^= mask;
                AllLoadsFail(bytes, target, () => $"byte {at} ^= 0x{mask:x2}");
            }
        TestModels.AssertSame(TestModels.Snapshot(target), before, "weights after the failed loads");
        Assert.That(target.Optimizer!.Iterations, Is.EqualTo(0));
    }

    [Test]
    public void SingleBitFlipsEverywhereInASmallFile()
    {
        var (_, weights, target) = SmallFiles();
        var before = TestModels.Snapshot(target);
        for (int at = 0; at < weights.Length; at++)
            for (int bit = 0; bit < 8; bit++)
            {
                var bytes = (byte[])weights.Clone();
                bytes[at] ^= (byte)(1 << bit);
                Expect(() => ModelIO.LoadWeightsFromBytes(target, bytes, "flip.safetensors"), () => $"byte {at} bit {bit}");
            }
        TestModels.AssertSame(TestModels.Snapshot(target), before, "after flips");
    }

    // ------------------------------------------------------------------ architecture problems in whole-model files

    private static byte[] ModelFile(string architecture, IReadOnlyList<(string, Tensor)> tensors) =>
        SafeTensorsFile.Write(tensors, new Dictionary<string, string> { ["rnnx.format"] = "model", ["rnnx.architecture"] = architecture });

    private static string Arch(string layers, string extra = "") =>
        "{\"format\":\"rnnx.sequential\",\"version\":1,\"name\":\"m\",\"seed\":1,\"shards\":2,\"dtype\":\"float32\",\"input_shape\":[3]" + extra + ",\"layers\":[" + layers + "]}";

    private static readonly (string, Tensor)[] DenseTensors =
    [
        ("dense/kernel", Tensor.FromArray(new float[6], 3, 2)),
        ("dense/bias", Tensor.FromArray(new float[2], 2)),
    ];

    [TestCase("{\"class\":\"Dense\",\"name\":\"dense\",\"config\":{\"units\":2}}", "", null)]
    [TestCase("{\"class\":\"Dense\",\"name\":\"dense\",\"config\":{\"units\":1}}", "", "has shape [3, 2] but the model's weight has shape [3, 1]")]
    [TestCase("{\"class\":\"Dense\",\"name\":\"dense\",\"config\":{\"units\":3}}", "", "needs more weight values than the file holds (8): dense's weight 'kernel' of shape [3, 3]")]
    [TestCase("{\"class\":\"Dense\",\"name\":\"dense\",\"config\":{}}", "", "config 'units' (an integer) is missing")]
    [TestCase("{\"class\":\"Dense\",\"name\":\"dense\",\"config\":{\"units\":\"two\"}}", "", "config 'units' is not an integer")]
    [TestCase("{\"class\":\"Dense\",\"name\":\"dense\",\"config\":{\"units\":-2}}", "", "cannot create a Dense")]
    [TestCase("{\"class\":\"Dense\",\"name\":\"dense\",\"config\":{\"units\":2,\"activation\":\"gelu9\"}}", "", "activation 'gelu9'")]
    [TestCase("{\"class\":\"Densely\",\"name\":\"dense\",\"config\":{\"units\":2}}", "", "'Densely' is not registered")]
    [TestCase("{\"class\":\"Dense\",\"name\":\"dense\",\"config\":{\"units\":2}}", ",\"frozen\":[\"nope\"]", "'frozen' names")]
    [TestCase("{\"class\":\"Dense\",\"name\":\"other\",\"config\":{\"units\":2}}", "", "'other/kernel'")]
    [TestCase("{\"class\":\"LSTM\",\"name\":\"dense\",\"config\":{\"units\":2}}", "", "does not build")]
    [TestCase("7", "", "not a JSON object")]
    public void ArchitectureProblems(string layers, string extra, string? expected)
    {
        string path = WriteFile(ModelFile(Arch(layers, extra), DenseTensors), "arch.rnnx");
        if (expected is null)
        {
            Assert.DoesNotThrow(() => ModelIO.Load(path));
            return;
        }
        var e = Assert.Throws<ModelFormatException>(() => ModelIO.Load(path))!;
        Assert.That(e.Message, Does.Contain(expected));
    }

    [TestCase("not json", "architecture is not valid JSON")]
    [TestCase("{\"format\":\"keras\"}", "format is 'keras'")]
    [TestCase("{\"format\":\"rnnx.sequential\",\"version\":2}", "version is 2")]
    [TestCase("{\"format\":\"rnnx.sequential\",\"format\":\"x\",\"version\":1}", "Duplicate property 'format'")]
    [TestCase("{\"format\":\"rnnx.sequential\",\"version\":1,\"name\":\"m\",\"seed\":1,\"shards\":2,\"dtype\":\"float32\",\"input_shape\":[3],\"layers\":[{\"class\":\"Dense\",\"name\":\"dense\",\"config\":{\"units\":2,\"units\":3}}]}", "Duplicate property 'units'")]
    [TestCase("{\"format\":\"rnnx.sequential\",\"version\":1,\"name\":\"m\",\"seed\":1,\"shards\":2,\"dtype\":\"float32\",\"input_shape\":[0],\"layers\":[]}", "input_shape: dimension 0")]
    public void BadArchitectureDocuments(string arch, string expected)
    {
        string path = WriteFile(ModelFile(arch, DenseTensors), "arch2.rnnx");
        var e = Assert.Throws<ModelFormatException>(() => ModelIO.Load(path))!;
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void MissingOrExtraOptimizerSlotsAreReported()
    {
        var m = new Sequential(new Dense(2, inputShape: [3]));
        m.Compile(new Adam(), Losses.Loss.MeanSquaredError);
        m.Fit(TestModels.Input([3], 4, DType.Float32), TestModels.Input([2], 4, DType.Float32), epochs: 1, verbose: 0);
        string good = Path.Combine(_dir, "opt.rnnx");
        m.Save(good);
        var file = SafeTensorsFile.Read(good, ModelLoadOptions.Default);
        var tensors = file.Tensors.Select(t => (t.Name, file.ToTensor(t))).ToList();

        var missing = tensors.Where(t => t.Name != "__optimizer__/dense/bias/velocity").ToList();
        var e = Assert.Throws<ModelFormatException>(() => ModelIO.Load(WriteFile(SafeTensorsFile.Write(missing, file.Metadata), "m1.rnnx")))!;
        Assert.That(e.Message, Does.Contain("'__optimizer__/dense/bias/velocity' is missing"));

        var extra = tensors.Append(("__optimizer__/dense/bias/extra", Tensor.FromArray(new float[2], 2))).ToList();
        e = Assert.Throws<ModelFormatException>(() => ModelIO.Load(WriteFile(SafeTensorsFile.Write(extra, file.Metadata), "m2.rnnx")))!;
        Assert.That(e.Message, Does.Contain("not an optimizer slot"));

        var wrong = tensors.Select(t => t.Name == "__optimizer__/dense/kernel/momentum" ? (t.Name, Tensor.FromArray(new float[6], 2, 3)) : t).ToList();
        e = Assert.Throws<ModelFormatException>(() => ModelIO.Load(WriteFile(SafeTensorsFile.Write(wrong, file.Metadata), "m3.rnnx")))!;
        Assert.That(e.Message, Does.Contain("momentum"));
    }

    [Test]
    public void RestoreCheckpointIntoAModelWithAnotherOptimizerChangesNothing()
    {
        var m = new Sequential(new Dense(2, inputShape: [3]));
        m.Compile(new Adam(), Losses.Loss.MeanSquaredError);
        m.Fit(TestModels.Input([3], 4, DType.Float32), TestModels.Input([2], 4, DType.Float32), epochs: 1, verbose: 0);
        string path = Path.Combine(_dir, "adam.rnnx");
        m.Save(path, new SaveOptions { Epoch = 1 });
        _target.Compile(new Sgd(), Losses.Loss.MeanSquaredError);
        var e = Assert.Throws<ModelFormatException>(() => ModelIO.RestoreCheckpoint(_target, path))!;
        Assert.That(e.Message, Does.Contain("Adam optimizer but the model's optimizer is a Sgd"));
        TestModels.AssertSame(TestModels.Snapshot(_target), _before, "weights");
        Assert.That(_target.Optimizer!.Iterations, Is.EqualTo(0));
    }
}
