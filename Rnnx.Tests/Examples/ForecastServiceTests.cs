using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ForecastService;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Rnnx.Layers;
using Rnnx.Models;

namespace Rnnx.Tests.Examples;

/// <summary>The example forecast service (examples/ForecastService), hosted in process: answers, concurrency, 400s.</summary>
public class ForecastServiceTests
{
    private string _dir = "";
    private Sequential _model = null!;
    private WebApplicationFactory<ForecastModel> _factory = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("rnnx-service-").FullName;
        // a 10-step-ahead forecaster as the chapter's: sequence in, vector of 10 out
        _model = new Sequential([new LSTM(8, returnSequences: true, inputShape: [null, 1]), new LSTM(8), new Dense(10)], "forecaster", seed: 5);
        _model.Build();
        string path = Path.Combine(_dir, "forecaster.rnnx");
        _model.Save(path);
        _factory = Serve(path, maxSteps: 200);
        _client = _factory.CreateClient();
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        _client.Dispose();
        _factory.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static WebApplicationFactory<ForecastModel> Serve(string modelPath, int maxSteps) =>
        new WebApplicationFactory<ForecastModel>().WithWebHostBuilder(b => b
            .UseSetting("Model", modelPath)
            .UseSetting("MaxSteps", maxSteps.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static float[] Series(int n, int seed)
    {
        var r = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
    }

    private static async Task<float[]> Forecast(HttpClient client, float[] series)
    {
        using var response = await client.PostAsJsonAsync("/forecast", new { series });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("forecast").EnumerateArray().Select(e => e.GetSingle()).ToArray();
    }

    [Test]
    public async Task Forecast_IsThePredictionOfTheSavedModel()
    {
        var series = Series(50, 1);
        Assert.That(await Forecast(_client, series), Is.EqualTo(_model.Predict(series, 1, 50, 1)));
        var shortSeries = Series(7, 2);   // recurrent models take any length
        Assert.That(await Forecast(_client, shortSeries), Is.EqualTo(_model.Predict(shortSeries, 1, 7, 1)));
    }

    [Test]
    public async Task ConcurrentRequests_EachGetsItsOwnForecast()
    {
        var inputs = Enumerable.Range(0, 64).Select(i => Series(20 + i % 40, 100 + i)).ToArray();
        var expected = inputs.Select(s => _model.Predict(s, 1, s.Length, 1)).ToArray();
        var answers = await Task.WhenAll(inputs.Select(s => Task.Run(() => Forecast(_client, s))));
        for (int i = 0; i < inputs.Length; i++) Assert.That(answers[i], Is.EqualTo(expected[i]), $"request {i}");
    }

    [TestCase("{\"series\":[0.1,0.2,", "bad JSON")]
    [TestCase("[0.1,0.2]", "bad JSON")]
    [TestCase("{}", "\"series\" array")]
    [TestCase("{\"series\":[]}", "at least 1 value")]
    [TestCase("{\"series\":[0.1,\"NaN\",0.3]}", "series[1] is NaN")]
    [TestCase("{\"series\":[0.1,\"-Infinity\"]}", "series[1] is -Infinity")]
    [TestCase("{\"series\":[0.1,\"x\"]}", "bad JSON")]
    public async Task BadRequests_Get400WithAClearMessage(string body, string message)
    {
        using var response = await _client.PostAsync("/forecast", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public async Task TooLongSeries_Gets400()
    {
        using var response = await _client.PostAsJsonAsync("/forecast", new { series = new float[201] });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("too long: 201 values, at most 200"));
    }

    [Test]
    public async Task ConvolutionModel_TooShort_Gets400_SequenceOutput_GivesTheLastStep()
    {
        // the chapter's conv_rnn shape: a strided valid convolution needs 4 steps; sequence output, 10 per step
        var conv = new Sequential([new Conv1D(filters: 4, kernelSize: 4, strides: 2, padding: "valid", inputShape: [null, 1]),
            new GRU(4, returnSequences: true), new TimeDistributed(new Dense(10))], "conv", seed: 2);
        conv.Build();
        string path = Path.Combine(_dir, "conv.rnnx");
        conv.Save(path);
        using var factory = Serve(path, maxSteps: 1000);
        using var client = factory.CreateClient();
        using var response = await client.PostAsJsonAsync("/forecast", new { series = new float[3] });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("at least 4 values, got 3"));
        var series = Series(30, 4);
        var all = conv.Predict(series, 1, 30, 1);   // (1, 14, 10)
        Assert.That(await Forecast(client, series), Is.EqualTo(all.AsSpan(all.Length - 10).ToArray()));
    }

    [Test]
    public async Task FixedLengthModel_WrongLength_Gets400()
    {
        var linear = new Sequential([new Flatten(inputShape: [50, 1]), new Dense(1)], "linear", seed: 1);
        linear.Build();
        string path = Path.Combine(_dir, "linear.rnnx");
        linear.Save(path);
        using var factory = Serve(path, maxSteps: 1000);
        using var client = factory.CreateClient();
        using var response = await client.PostAsJsonAsync("/forecast", new { series = new float[49] });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("exactly 50 values"));
        var ok = Series(50, 3);
        Assert.That(await Forecast(client, ok), Is.EqualTo(linear.Predict(ok, 1, 50, 1)));
    }
}
