# The collector's image (ECS Fargate, arm64): the riptide package, boto3 and uvicorn.
# Built by `cdk deploy` when ingress is collector or both; synth only stages the files.
FROM public.ecr.aws/docker/library/python:3.12-slim
WORKDIR /srv/riptide
COPY requirements-lambda.txt requirements-collector.txt ./
RUN pip install --no-cache-dir --disable-pip-version-check -r requirements-collector.txt
COPY pyproject.toml ./
COPY lambdas ./lambdas
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps . && rm -rf lambdas
USER nobody
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["python", "-m", "riptide.collector"]
